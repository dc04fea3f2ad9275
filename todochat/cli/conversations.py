"""Commands on the log: conversations, history, search, rename, forget.

Output: on a terminal tables and rendered Markdown; in a pipe plain text (one line a row,
tab-separated, no Markdown markers, no colour); `--json` for scripts. Rich honours NO_COLOR.
"""

from __future__ import annotations

import sys
from datetime import datetime

import typer

from todochat.cli.common import (
    Command,
    console,
    count_option,
    current_user,
    err_console,
    error,
    handle_errors,
    nonblank_conversation,
)
from todochat.identity import short_id
from todochat.ui import render
from todochat.ui.printable import printable
from todochat.ui.render import marked_snippet, stored

HISTORY_PAGE = 100  # messages `history` shows unless told otherwise

USER = typer.Option(None, "--user", help="Whose conversations (default: you).")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
LATEST = typer.Option(
    False, "--latest", "-c", help="Your latest conversation (the one `chat -c` resumes)."
)
CONVERSATIONS = typer.Argument(None, help="Conversation ids or unique prefixes.")


def register(app: typer.Typer) -> None:
    for name, command in (
        ("conversations", conversations),
        ("history", history),
        ("search", search),
        ("rename", rename),
        ("forget", forget),
    ):
        app.command(name, cls=Command)(command)


def echo_lines(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)


def echo_json(data) -> None:
    from todochat.ui.serialize import to_json

    typer.echo(to_json(data))


def conversations(
    user: str = USER,
    limit: int = typer.Option(
        20, "--limit", "-n", callback=count_option, help="How many to show (0: every one)."
    ),
    as_json: bool = JSON,
) -> None:
    """List your conversations, newest first.

    Example: todochat conversations -n 5 --json
    """

    me = current_user(user)
    with handle_errors():
        rows = me.log.conversations(limit)
    if as_json:
        from todochat.ui.serialize import summary_dict

        echo_json([summary_dict(r) for r in rows])
    elif not rows:
        console.print("No conversations yet. Start one with: todochat chat")
    elif console.is_terminal:
        console.print(render.conversations_table(rows))
    else:
        echo_lines(render.conversations_plain(rows))


def history(
    conversation: str = typer.Argument(
        None, help="Conversation id or unique prefix.", callback=nonblank_conversation
    ),
    latest: bool = LATEST,
    user: str = USER,
    as_json: bool = JSON,
    markdown: bool = typer.Option(False, "--markdown", help="Print the Markdown source."),
    limit: int = typer.Option(
        HISTORY_PAGE,
        "--limit",
        "-n",
        callback=count_option,
        help="Show the newest N messages (0: every one).",
    ),
    all_: bool = typer.Option(False, "--all", help="Show every message (no limit)."),
    since: str = typer.Option(
        None,
        "--since",
        help="Only messages after this date or time (2026-11-20, 2026-11-20T09:00).",
    ),
) -> None:
    """Show a conversation's newest messages from the durable log, with the changes each
    turn made to your tasks under its reply; says how many earlier ones are hidden.

    Example: todochat history 3f2a --all --markdown > groceries.md   (or: -c -n 20, --since 2026-11-01)
    """
    from todochat.ui.serialize import history_dict

    if as_json and markdown:
        raise error("use either --json or --markdown, not both", 2)
    check_one_conversation(conversation, latest)
    me = current_user(user)
    with handle_errors():
        tz = me.app.timezone
        after = _since(since, tz)
        found = me.log.conversation_or_latest(conversation)
        page = me.log.page(found.id, after, None if all_ else limit)
    messages, changes, hidden = page.messages, page.changes, page.hidden
    if hidden:
        err_console.print(
            f"{hidden} earlier message{'s' * (hidden != 1)} hidden; --all shows every one.",
            style="dim",
        )
    if as_json or markdown:
        data = history_dict(found, messages, changes)
        if as_json:
            echo_json(data)
        else:
            from todochat.ui.markdown_export import conversation_markdown

            typer.echo(render.stored(conversation_markdown(data)), nl=False)
        return
    lines = page.change_lines()
    header = f"Conversation {short_id(found.id)}: {render.stored(found.title) or '(untitled)'}"
    if not console.is_terminal:
        echo_lines([header, *render.history_plain(messages, lines, tz)])
        return
    console.print(header, style="bold")
    for line in render.history_lines(messages, changes=lines, tz=tz):
        console.print(line)


def check_one_conversation(conversation: str | None, latest: bool) -> None:
    """A conversation named, or `-c` for the latest: exactly one (usage errors)."""
    if conversation is not None and latest:
        raise error("name a conversation or use -c (--latest), not both", 2)
    if conversation is None and not latest:
        raise error("name a conversation (id or unique prefix), or use -c for your latest", 2)


def _since(text: str | None, tz):
    """`--since` as an aware moment (a date means its start in the user's time zone)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise error(
            f"--since takes a date or time like 2026-11-20 or 2026-11-20T09:00, not {text!r}", 2
        ) from None
    from todochat.tasks import dates

    if not dates.EARLIEST <= moment.date() <= dates.LATEST:  # else no zone can convert it
        raise error(
            f"--since takes a date between {dates.EARLIEST} and {dates.LATEST}, not {text!r}", 2
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def search(
    query: str = typer.Argument(..., help='Words, "a phrase", or a prefix like grocer*.'),
    user: str = USER,
    limit: int = typer.Option(
        20, "--limit", "-n", callback=count_option, help="How many hits to show (0: every one)."
    ),
    as_json: bool = JSON,
) -> None:
    """Search your messages, newest first; the match is marked in each snippet.

    Example: todochat search '"buy milk" grocer*'
    """

    me = current_user(user)
    with handle_errors():
        hits = me.log.search(query, limit)
    if as_json:
        echo_json([_hit_dict(h) for h in hits])
    elif not hits:
        typer.echo("No messages match.", err=not console.is_terminal)
    elif console.is_terminal:
        console.print(render.search_table(hits, me.app.timezone))
    else:
        echo_lines(render.search_plain(hits))


def _hit_dict(hit) -> dict:
    from todochat.ui.serialize import iso

    return {
        "conversation": hit.short_id,
        "conversation_id": str(hit.conversation_id),
        "message_id": hit.message_id,
        "role": hit.role,
        "created_at": iso(hit.created_at),
        "snippet": marked_snippet(hit.snippet, source=True),
    }


def rename(
    conversation: str = typer.Argument(
        ..., help="Conversation id or unique prefix.", callback=nonblank_conversation
    ),
    title: str = typer.Argument(..., help="The new title."),
    user: str = USER,
) -> None:
    """Give a conversation a title of your own.

    Example: todochat rename 3f2a "Groceries for the party"
    """

    me = current_user(user)
    with handle_errors():
        found = me.log.conversation(conversation)
        title = me.log.rename(found.id, title)
    typer.echo(f"Renamed {short_id(found.id)}: {stored(title)}")


def forget(
    conversations: list[str] = CONVERSATIONS,
    all_: bool = typer.Option(False, "--all", help="Every conversation of yours."),
    with_tasks: bool = typer.Option(False, "--with-tasks", help="With --all: your tasks too."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    user: str = USER,
) -> None:
    """Delete conversations from the log AND from agent memory, for good.

    Example: todochat forget 3f2a 9c1d   (or: todochat forget --all --with-tasks --yes)
    """
    conversations = conversations or []
    _check_forget(conversations, all_, with_tasks, yes)
    me = current_user(user)
    with handle_errors():
        if all_:
            report = _run(me.log.forget_everything(with_tasks))
        else:
            targets = list({c.id: c for c in map(me.log.conversation, conversations)}.values())
            if not yes and not _confirm_forget(targets):
                typer.echo("Kept.")
                return
            report = _run(me.log.forget([c.id for c in targets]))
    typer.echo(report.summary())
    if report.warning:
        err_console.print(f"Warning: {printable(report.warning)}", style="yellow")


def _check_forget(conversations: list[str], all_: bool, with_tasks: bool, yes: bool) -> None:
    if all_ and conversations:
        raise error("use either conversation ids or --all, not both", 2)
    if not all_ and not conversations:
        raise error("name the conversations to forget, or use --all", 2)
    if with_tasks and not all_:
        raise error("--with-tasks goes with --all", 2)
    if all_ and not yes:
        raise error("forget --all erases your whole log: add --yes to confirm", 2)
    if any(not ref.strip() for ref in conversations):
        raise error("a conversation is empty: give its id or a unique prefix", 2)
    if not yes and not sys.stdin.isatty():
        raise error("not a terminal: pass --yes to forget without asking", 2)


def _confirm_forget(targets) -> bool:

    for found in targets:
        typer.echo(f"  {short_id(found.id)}  {stored(found.title) or '(untitled)'}")
    noun = "this conversation" if len(targets) == 1 else f"these {len(targets)} conversations"
    return typer.confirm(f"Forget {noun} and their agent memory for good?", False)


def _run(coroutine):
    """asyncio.run, imported only by the commands that need it (start-up time)."""
    import asyncio

    return asyncio.run(coroutine)
