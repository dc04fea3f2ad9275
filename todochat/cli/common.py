"""What every command shares: settings from flags, one-line errors, consoles."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperCommand

from todochat.chat.render import error_line
from todochat.config import Settings, load_settings
from todochat.errors import TodochatError

if TYPE_CHECKING:
    from todochat.app import User

# Markup is off: titles, messages and error texts come from users and may contain "[...]"
# (a "[/red]" in a task title must print as typed, not raise MarkupError), and `:skull:` is
# shown as typed, not as an emoji. Control characters are made visible by
# `render.printable`. Messages on
# stderr never wrap, so an error is one line whatever the terminal width.
console = Console(highlight=False, markup=False, emoji=False)
err_console = Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)


class Command(TyperCommand):
    """A command whose "no such option" suggests only near misses (`--usr` -> `--user`).

    The parser offers any option 60% alike, so `chat --bogus` suggested `--user`.
    """

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except Exception as exc:
            if getattr(exc, "possibilities", None) and hasattr(exc, "option_name"):
                exc.possibilities = [
                    p for p in exc.possibilities if _alike(exc.option_name, p)
                ] or None
            raise


def _alike(typed: str, option: str) -> bool:
    return SequenceMatcher(None, typed, option).ratio() >= SUGGEST_SIMILARITY


SUGGEST_SIMILARITY = 0.75


def error(message: str, code: int = 1) -> typer.Exit:
    """Print `Error: message` on stderr and return the Exit to raise."""
    err_console.print(error_line(message))
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


def load_dot_env(path: str) -> None:
    """`.env` into the environment (the environment wins); unreadable is one usage error,
    before any command runs (even `--help`)."""
    from dotenv import load_dotenv

    try:
        load_dotenv(dotenv_path=path, override=False, encoding="utf-8")
    except UnicodeDecodeError:
        _exit(f"cannot read {os.path.abspath(path)}: it is not UTF-8 text", 2)
    except OSError as exc:
        _exit(f"cannot read {os.path.abspath(path)}: {exc.strerror or exc}", 2)


def _exit(message: str, code: int) -> NoReturn:
    err_console.print(error_line(message))
    sys.exit(code)


def resolve_settings(**overrides: Any) -> Settings:
    """Settings with command-line flags on top (flag > environment > .env > default)."""
    with handle_errors():
        return load_settings(overrides=overrides)


def current_user(name: str | None = None, **overrides: Any) -> User:
    """The core for the user a command acts as (`--user`, else TODOCHAT_USER or the login)."""
    from todochat.app import App

    return App(resolve_settings(user=name, **overrides)).user()


def nonblank_conversation(value: str | None) -> str | None:
    """Typer callback: a CONVERSATION given but empty (`''`) is a usage error, not "all"."""
    if value is not None and not value.strip():
        raise error(
            "CONVERSATION is blank: give a conversation id or unique prefix "
            "(see `todochat conversations`)",
            2,
        )
    return value
