"""`todochat info`: where the data, the settings and the model traffic are."""

from __future__ import annotations

import typer

from todochat.cli.common import Command, console, resolve_settings


def register(app: typer.Typer) -> None:
    app.command("info", cls=Command)(info)


def info(
    user: str = typer.Option(None, "--user", help="Whose input history (default: you)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show where everything is: data directory, app database (password hidden), agent
    memory, input history, the .env loaded, and the model.

    Example: todochat info   (or: todochat info --json)
    """
    from todochat.info import lines, locations
    from todochat.printable import printable

    found = locations(resolve_settings(user=user))
    if as_json:
        from todochat.serialize import to_json

        typer.echo(to_json(found))
        return
    for line in lines(found):
        console.print(printable(line), soft_wrap=True)
