"""`todochat chat`: the REPL, one-shot `-m`, and piped stdin."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from todochat.cli.common import (
    PIPE_CLOSED,
    Command,
    console,
    current_user,
    dotenv_notice,
    err_console,
    error,
    error_line,
    handle_errors,
    quiet_stdout,
)
from todochat.errors import TodochatError
from todochat.ui.render import StreamedReply, incomplete_note

if TYPE_CHECKING:
    from todochat.app import User


def register(app: typer.Typer) -> None:
    app.command("chat", cls=Command)(chat)


def chat(
    message: str = typer.Option(
        None, "--message", "-m", help="Run one turn, print the reply, exit."
    ),
    continue_: bool = typer.Option(
        False, "--continue", "-c", help="Resume your latest conversation."
    ),
    conversation: str = typer.Option(
        None, "--conversation", help="Resume a conversation by id or unique prefix."
    ),
    user: str = typer.Option(
        None, "--user", help="Act as this user (default: TODOCHAT_USER or your login)."
    ),
    model: str = typer.Option(
        None, "--model", help="Model name, or 'offline' (default: TODOCHAT_MODEL)."
    ),
) -> None:
    """Talk to your todo assistant.

    Example: todochat chat -c   (or: todochat chat -m "what tasks do I have?")
    """
    me = current_user(user, model=model)
    settings = me.app.settings
    if continue_ and conversation is not None:
        raise error("use either --continue or --conversation, not both", 2)
    if conversation is not None and not conversation.strip():
        raise error("--conversation needs an id or a unique prefix", 2)
    if message is not None and not message.strip():
        raise error("the message given with -m is empty", 2)
    from todochat.agent.models import check_model, describe_model, offline_by_default

    notice = dotenv_notice(settings)
    if notice:
        err_console.print(notice, style="yellow")
    with handle_errors():
        check_model(settings)
    note = None if model is not None else offline_by_default(settings, os.environ)
    if note:
        err_console.print(note, style="yellow")
    if settings.memory_is_ephemeral:
        err_console.print(
            "Warning: AGENT_SESSION_DB_PATH is :memory:, so agent memory will not survive a restart.",
            style="yellow",
        )
    resuming = continue_ or conversation is not None
    if message is None and sys.stdin.isatty() and not resuming:
        # A new conversation in the REPL: the prompt comes before the app database opens.
        _repl(me, None, describe_model(settings))
        return
    service = _open_service(me)
    with handle_errors():
        _choose_conversation(service, continue_, conversation)
    if message is not None:
        raise typer.Exit(_run_lines(service, [message]))
    if not sys.stdin.isatty():
        raise typer.Exit(_run_lines(service, _stdin_lines()))
    _repl(me, service, describe_model(settings))


def _open_service(me: User):
    with handle_errors():
        return _new_service(me)


def _new_service(me: User):
    """The chat service; its errors are raised, for the caller to report (once)."""
    return me.chat(notice=lambda text: err_console.print(text, style="yellow"))


def _repl(me: User, service, model_label: str) -> None:
    """The REPL; without a `service` it opens one behind the prompt."""
    from todochat.repl.repl import ChatRepl
    from todochat.repl.starting import ServiceStart

    if service is None:
        # Opened in a thread: its error is reported by the REPL, after what was not sent.
        start = ServiceStart(lambda: _new_service(me))
    else:
        start = ServiceStart.opened(service)
    with handle_errors():
        ChatRepl(start, me.app.settings, console, model_label).loop()


def _choose_conversation(service, continue_: bool, conversation: str | None) -> None:
    if conversation is not None:
        service.resume(conversation)
    elif continue_ and service.resume_latest() is None:
        err_console.print("No earlier conversation; starting a new one.", style="dim")


def _stdin_lines():
    """Piped lines whatever the locale: read as bytes, invalid UTF-8 shown as U+FFFD."""
    for raw in sys.stdin.buffer:
        yield raw.decode("utf-8", "replace").rstrip("\r\n")


def _run_lines(service, lines) -> int:
    """One turn per line, replies on stdout; exit 1 if any turn failed, 130 on Ctrl-C,
    141 once stdout is a pipe nobody reads (the turn running then is still logged)."""
    import asyncio

    failed = False
    with handle_errors(), asyncio.Runner() as runner:
        try:
            for line in lines:
                if not line.strip():
                    continue
                closed, failed_now = _one_turn(runner, service, line)
                failed |= failed_now
                if closed is not None:
                    return _stdout_gone(closed)
        finally:
            service.close()
    return 1 if failed else 0


def _one_turn(runner, service, line: str) -> tuple[OSError | None, bool]:
    """Run and show one turn: (why stdout failed, or None; whether the turn failed)."""

    try:
        with StreamedReply(console) as reply:
            result = runner.run(service.turn(line, reply.add))
            reply.finish(None if result.incomplete else result.reply)
    except TodochatError as exc:
        err_console.print(error_line(str(exc)))
        return reply.closed, True
    if result.incomplete and reply.closed is None:
        show_incomplete(console, err_console, result.incomplete)
    return reply.closed, bool(result.incomplete)


def show_incomplete(out, err, why: str) -> None:
    """The mark after the cut reply, as the log has it, and why on stderr."""

    from todochat.turn import INCOMPLETE_MARK

    out.print(Text(INCOMPLETE_MARK, style="yellow"))
    err.print(incomplete_note(why))


def _stdout_gone(exc: OSError) -> int:
    """The reader went away: quiet (no traceback at exit); any other failure is one line."""
    quiet_stdout()
    if isinstance(exc, BrokenPipeError):
        return PIPE_CLOSED
    err_console.print(
        error_line(f"cannot write the reply ({exc.strerror or exc}); it is saved in the log")
    )
    return 1
