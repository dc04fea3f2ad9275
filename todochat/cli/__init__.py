"""The `todochat` command: thin adapters over the core API (see DESIGN.md)."""

from __future__ import annotations

import typer

from todochat import __version__
from todochat.cli import chat, conversations, data, info, serve, sessions, tokens, transfer
from todochat.cli.common import load_dot_env
from todochat.config import reset_settings

app = typer.Typer(
    name="todochat",
    help="A terminal todo assistant that remembers.\n\nExample: todochat chat",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    # `-h` as `--help`, as llm, aichat and mods take it; subcommands inherit it.
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"todochat {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """A terminal todo assistant that remembers (help text: `help=` above)."""


chat.register(app)
data.register(app)
conversations.register(app)
transfer.register(app)
sessions.register(app)
info.register(app)
tokens.register(app)
serve.register(app)


def main() -> None:
    """Entry point: `.env` in the working directory first (the environment wins), then the app."""

    load_dot_env(".env")
    reset_settings()
    app()
