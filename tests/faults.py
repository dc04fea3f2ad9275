"""Fault injection for tests: real faults, made on purpose, undone afterwards.

- `terminate_backends(url)`: what a PostgreSQL restart, failover or idle timeout does to the
  app database's connections (`pg_terminate_backend` on that one database, never the server).
- `PostgresProxy`: a TCP relay in front of the server that a test takes down (every
  connection cut, new ones refused) and brings back: "the server is down" without touching it.
- `small_disk(path)`: a 256 KB tmpfs mounted at `path` (root only); `fill(path)` fills it so
  the next write fails with "No space left on device". Always unmounted afterwards.
- `run_piped(env, data, *args)`: `todochat …` with raw bytes on stdin, e.g. invalid UTF-8.
- A model that sends anything: `openai_server.Reply(chunks=(...))` streams those exact text
  chunks (control sequences, huge replies, odd splits) from the loopback OpenAI server.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from conftest import TODOCHAT, subprocess_env


def terminate_backends(url: str) -> int:
    """Cut every connection to `url`'s database (this process's pooled ones too); how many."""
    import psycopg
    from sqlalchemy.engine import make_url

    from todochat.db.engine import _open

    parsed = make_url(url)
    plain = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        cut = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    for database in _open.values():  # the test process is a client like any other
        if database.url == url:
            database.dispose()
    return cut


def url_via(url: str, port: int) -> str:
    """`url` with its host and port replaced by 127.0.0.1:`port` (a proxy's)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


class PostgresProxy:
    """A TCP relay to the PostgreSQL server that can go down and come back on the same port."""

    def __init__(self, url: str):
        from sqlalchemy.engine import make_url

        target = make_url(url)
        self.target = (target.host or "127.0.0.1", target.port or 5432)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = url_via(url, self.port)
        self.is_up = True
        self.holding = False
        self._held: list[socket.socket] = []
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def down(self) -> None:
        """Cut every relayed connection; new ones are refused until `up()`."""
        with self._lock:
            self.is_up = False
            for sock in self._open + self._held:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()
            self._held.clear()

    def up(self) -> None:
        self.is_up = True

    def hold(self) -> None:
        """Accept new connections but relay nothing until `release()`: a server that stalls."""
        self.holding = True

    def release(self) -> None:
        with self._lock:
            self.holding = False
            held, self._held = self._held, []
        for client in held:
            self._relay(client)

    def close(self) -> None:
        self.down()
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.is_up:
                client.close()  # the client sees the connection closed at once
                continue
            with self._lock:
                if self.holding:
                    self._held.append(client)
                    continue
            self._relay(client)

    def _relay(self, client: socket.socket) -> None:
        server = socket.create_connection(self.target)
        with self._lock:
            self._open += [client, server]
        for a, b in ((client, server), (server, client)):
            threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def small_disk(path: Path, size: str = "256k") -> Iterator[Path]:
    """A tiny tmpfs at `path`, unmounted afterwards whatever happens (needs root)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cannot mount a tmpfs at {path} (run as root): {done.stderr}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(path: Path) -> None:
    """Fill the file system holding `path` until not even one more byte can be written."""
    with open(path / "filler", "wb", buffering=0) as filler:
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    filler.write(b"\0" * chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise


def run_piped(env: dict[str, str], data: bytes, *args: str, cwd: Path | None = None, **extra: str):
    """`todochat args…` with `data` (raw bytes) on stdin; stdout and stderr as bytes."""
    return subprocess.run(
        [*TODOCHAT, *args],
        input=data,
        env=subprocess_env(env, **extra),
        capture_output=True,
        timeout=60,
        cwd=cwd,
    )
