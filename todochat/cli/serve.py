"""`todochat serve`: the HTTP API and web page (FastAPI, imported only by this command)."""

from __future__ import annotations

import typer

from todochat.cli.common import Command, err_console, handle_errors, resolve_settings

CORS_ORIGIN = typer.Option(
    None, "--cors-origin", help="Let pages from this origin call the API (repeatable)."
)


def register(app: typer.Typer) -> None:
    app.command("serve", cls=Command)(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port (0: any free one)."),
    cors_origin: list[str] = CORS_ORIGIN,
) -> None:
    """Serve the HTTP API and a small web page over your log, tasks and memory.

    Every request needs a bearer token (`todochat tokens create`). Listens on this machine
    only unless --host says otherwise; then put TLS in front (a reverse proxy).

    Example: todochat serve --port 8765   (then open http://127.0.0.1:8765/)
    """
    from todochat.app import App
    from todochat.server.run import bind, is_loopback, serve

    settings = resolve_settings()
    core = App(settings)
    with handle_errors():
        sock = bind(host, port)
        core.open_stores()  # before the first request: one line if a store cannot open
    if not is_loopback(host):
        err_console.print(
            f"Warning: listening on {host}, beyond this machine: bearer tokens and your "
            "messages cross the network in clear unless TLS is in front (a reverse proxy)."
        )
    serve(core, sock, list(cors_origin or []), typer.echo)
