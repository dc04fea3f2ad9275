"""What every command shares: settings from flags, one-line errors, consoles."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperCommand

from todochat.config import DotEnv, Settings, hide_password, load_settings, record_dotenv
from todochat.errors import TodochatError
from todochat.ui.render import error_line

if TYPE_CHECKING:
    from todochat.app import User

# Markup is off: titles, messages and error texts come from users and may contain "[...]"
# (a "[/red]" in a task title must print as typed, not raise MarkupError), and `:skull:` is
# shown as typed, not as an emoji. Control characters are made visible by
# `render.printable`. Messages on
# stderr never wrap, so an error is one line whatever the terminal width.
console = Console(highlight=False, markup=False, emoji=False)
err_console = Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)


# A command whose reader went away (`| head`) ends quietly with this status, as a Unix tool
# killed by SIGPIPE does (128 + 13); `chat` first logs the reply of the turn running then.
PIPE_CLOSED = 141


class Command(TyperCommand):
    """A command whose "no such option" suggests only near misses (`--usr` -> `--user`),
    and that ends quietly when its reader goes away.

    The parser offers any option 60% alike, so `chat --bogus` suggested `--user`.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            quiet_stdout()
            raise typer.Exit(PIPE_CLOSED) from None

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except Exception as exc:
            if getattr(exc, "possibilities", None) and hasattr(exc, "option_name"):
                exc.possibilities = [
                    p for p in exc.possibilities if _alike(exc.option_name, p)
                ] or None
            raise


def quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush into a closed pipe is
    silent (as Python's documentation advises for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


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
    before any command runs (even `--help`). Which file set which keys is recorded, so
    settings can tell a value from `.env` from one of the environment."""
    from dotenv import dotenv_values

    try:
        values = dotenv_values(dotenv_path=path, encoding="utf-8")
    except UnicodeDecodeError:
        _exit(f"cannot read {os.path.abspath(path)}: it is not UTF-8 text", 2)
    except OSError as exc:
        _exit(f"cannot read {os.path.abspath(path)}: {exc.strerror or exc}", 2)
    applied = {k: v for k, v in values.items() if v is not None and k not in os.environ}
    os.environ.update(applied)
    if os.path.isfile(path):
        record_dotenv(DotEnv(os.path.abspath(path), frozenset(applied)))


def _exit(message: str, code: int) -> NoReturn:
    err_console.print(error_line(message))
    sys.exit(code)


def resolve_settings(**overrides: Any) -> Settings:
    """Settings with command-line flags on top (flag > environment > .env > default)."""
    with handle_errors():
        settings = load_settings(overrides=overrides)
    if settings.legacy_data_dir:
        err_console.print(legacy_data_notice(settings), style="yellow")
    return settings


def legacy_data_notice(settings: Settings) -> str:
    """One line: where an earlier version's `./data` is, and how to move it (we never do)."""
    old, new = shlex.quote(settings.legacy_data_dir), shlex.quote(settings.data_dir)
    if os.path.exists(settings.data_dir):
        move = f"mv -n {old}/* {new}/"
    else:
        move = f"mkdir -p {shlex.quote(os.path.dirname(settings.data_dir))} && mv {old} {new}"
    return (
        f"Note: {old} holds data of an earlier todochat, which kept it in the current "
        f"directory; this one uses {new}. Move it with `{move}`, or keep it there with "
        f"TODOCHAT_DATA_DIR={old}."
    )


def dotenv_notice(settings: Settings) -> str | None:
    """One line when a `.env` sets OPENAI_BASE_URL: where the model's traffic goes, and
    whether the key from the environment is held back (see `config._withholds_key`)."""
    dotenv = settings.dotenv
    if dotenv is None or not dotenv.sets("OPENAI_BASE_URL") or not settings.openai_base_url:
        return None
    line = f"Note: {dotenv.path} sets OPENAI_BASE_URL={hide_password(settings.openai_base_url)}"
    if settings.key_withheld:
        line += (
            "; OPENAI_API_KEY from your environment is not sent there (set the key in that "
            ".env too, or TODOCHAT_TRUST_DOTENV=1 in your environment)"
        )
    return line + "."


def current_user(name: str | None = None, **overrides: Any) -> User:
    """The core for the user a command acts as (`--user`, else TODOCHAT_USER or the login)."""
    from todochat.app import App

    return App(resolve_settings(user=name, **overrides)).user()


# A count above any table's rows: what `-n 0` and larger counts ask for. SQLite and
# PostgreSQL both take it as a LIMIT (a larger number overflows SQLite's 64-bit integers).
EVERY = 2**62


def count_option(value: int | None) -> int:
    """Typer callback for `-n`: 0 means every one, as does a count beyond any table (as
    `head -n 99999999999999999999` does); a negative count is a usage error, one line."""
    if value is None:
        return value
    if value < 0:
        raise error(f"-n takes a count (0: every one), not {value}", 2)
    return EVERY if value == 0 or value > EVERY else value


def nonblank_conversation(value: str | None) -> str | None:
    """Typer callback: a CONVERSATION given but empty (`''`) is a usage error, not "all"."""
    if value is not None and not value.strip():
        raise error(
            "CONVERSATION is blank: give a conversation id or unique prefix "
            "(see `todochat conversations`)",
            2,
        )
    return value
