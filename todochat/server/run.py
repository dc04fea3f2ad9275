"""Serving the API with uvicorn on a socket we bind ourselves (so `--port 0` can say which
port it got, and a port in use is one line, not a traceback)."""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable

from todochat.errors import ConfigError

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; `ConfigError` (one line) when that cannot be."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def serve(core, sock: socket.socket, cors_origins: list[str], say: Callable[[str], None]) -> None:
    """Run the API over `core` on `sock` until SIGINT or SIGTERM; closes `core` after."""
    import uvicorn

    from todochat.server.factory import Options, create_app

    api = create_app(core, Options(cors_origins=cors_origins))
    config = uvicorn.Config(
        api, server_header=False, timeout_graceful_shutdown=10, log_level="info"
    )
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    say(f"todochat serve: listening on http://{shown}:{port}/ (Ctrl-C stops)")
    sys.stdout.flush()
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        core.close()
