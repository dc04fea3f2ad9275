"""What every command shares: settings from flags, one-line errors, consoles."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console

from todochat.config import Settings, load_settings
from todochat.errors import TodochatError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def error(message: str, code: int = 1) -> typer.Exit:
    """Print `Error: message` on stderr and return the Exit to raise."""
    err_console.print(f"[red]Error:[/red] {message}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Turn expected failures into one line and an exit code; never a traceback."""
    try:
        yield
    except TodochatError as exc:
        raise error(str(exc), exc.exit_code) from None
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        raise typer.Exit(130) from None


def resolve_settings(**overrides: Any) -> Settings:
    """Settings with command-line flags on top (flag > environment > .env > default)."""
    with handle_errors():
        return load_settings(overrides=overrides)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()
