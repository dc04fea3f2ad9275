"""`todochat info`: where the data, the settings and the model traffic are."""

from __future__ import annotations

from typing import Any

import typer

from todochat.cli.common import Command, console, current_user
from todochat.ui.printable import printable


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

    found = current_user(user).app.locations()
    if as_json:
        from todochat.ui.serialize import to_json

        typer.echo(to_json(found))
        return
    for line in lines(found):
        console.print(printable(line), soft_wrap=True)


LABELS = {
    "user": "User",
    "data_dir": "Data directory",
    "database_url": "App database",
    "memory_file": "Agent memory",
    "history_file": "Input history",
    "dotenv": ".env loaded",
    "model": "Model",
    "api_key": "API key",
    "earlier_data_dir": "Earlier data",
}


def lines(found: dict[str, Any]) -> list[str]:
    """`Label:  value` lines for people; what is unset says so."""
    width = max(len(label) for label in LABELS.values()) + 2
    shown = dict(found)
    if found["dotenv"] and found["dotenv_keys"]:
        shown["dotenv"] = f"{found['dotenv']} (sets {', '.join(found['dotenv_keys'])})"
    if found["api_key"] == "withheld":
        shown["api_key"] = "withheld: OPENAI_BASE_URL comes from .env (TODOCHAT_TRUST_DOTENV=1)"
    return [
        f"{(label + ':').ljust(width)}{shown[key] if shown[key] is not None else 'none'}"
        for key, label in LABELS.items()
        if key != "earlier_data_dir" or shown[key]
    ]
