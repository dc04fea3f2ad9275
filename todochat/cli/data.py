"""Commands over the app database alone (no model): tasks, conversations, history."""

from __future__ import annotations

import typer

from todochat.cli.common import (
    Command,
    console,
    error,
    handle_errors,
    nonblank_conversation,
    resolve_settings,
)
from todochat.identity import short_id


def register(app: typer.Typer) -> None:
    app.command("tasks", cls=Command)(tasks)
    app.command("conversations", cls=Command)(conversations)
    app.command("history", cls=Command)(history)


def _database(settings):
    from todochat.db import open_database

    return open_database(settings.database_url)


def tasks(
    all_: bool = typer.Option(False, "--all", help="Show open and completed tasks."),
    done: bool = typer.Option(False, "--done", help="Show completed tasks only."),
    user: str = typer.Option(None, "--user", help="Whose tasks (default: you)."),
    due: str = typer.Option(
        None,
        "--due",
        help="Only those due today, this week (7 days) or overdue.",
        metavar="today|week|overdue",
    ),
) -> None:
    """Show your tasks as a table, soonest due first (overdue ones say so).

    Example: todochat tasks --due week
    """
    from todochat import dates, lookup
    from todochat.chat.render import TASK_TITLES, tasks_table
    from todochat.db import tasks as task_queries

    if all_ and done:
        raise error("use either --all or --done, not both", 2)
    if due is not None and due not in DUE_TITLES:
        raise error(f"--due must be today, week or overdue, not {due!r}", 2)
    settings = resolve_settings(user=user)
    status = "all" if all_ else "done" if done else "open"
    with handle_errors():
        tz = dates.local_timezone(settings.timezone)
        user_id = lookup.user_id(settings.database_url, settings.user)
        found = []
        if user_id is not None:
            with _database(settings).session() as session:
                found = task_queries.list_tasks(
                    session, user_id, status, due, today=dates.today(tz)
                )
    title = TASK_TITLES[status] + DUE_TITLES.get(due, "")
    console.print(tasks_table(found, "Overdue tasks" if due == "overdue" else title, tz))


DUE_TITLES = {"today": " due today", "week": " due this week", "overdue": ""}


def conversations(
    user: str = typer.Option(None, "--user", help="Whose conversations (default: you)."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many to show."),
) -> None:
    """List your conversations, newest first.

    Example: todochat conversations -n 5
    """
    from rich.table import Table

    from todochat import lookup
    from todochat.chat.render import ago, shown
    from todochat.db import conversations as conversation_queries

    settings = resolve_settings(user=user)
    with handle_errors():
        user_id = lookup.user_id(settings.database_url, settings.user)
        rows = []
        if user_id is not None:
            with _database(settings).session() as session:
                rows = conversation_queries.list_conversations(session, user_id, limit)
    if not rows:
        console.print("No conversations yet. Start one with: todochat chat")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "title", "messages", "last activity"):
        table.add_column(column, justify="right" if column == "messages" else "left")
    for row in rows:
        table.add_row(
            row.short_id, shown(row.title or "(untitled)"), str(row.messages), ago(row.updated_at)
        )
    console.print(table)


def history(
    conversation: str = typer.Argument(
        ..., help="Conversation id or unique prefix.", callback=nonblank_conversation
    ),
    user: str = typer.Option(None, "--user", help="Whose conversation (default: you)."),
    json_: bool = typer.Option(False, "--json", help="Print the messages and changes as JSON."),
) -> None:
    """Show a conversation's messages from the durable log, with the changes each turn made
    to your tasks under its reply.

    Example: todochat history 3f2a
    """
    from todochat import change_lines, dates, lookup
    from todochat.chat.render import history_lines, shown
    from todochat.db import messages as message_queries

    settings = resolve_settings(user=user)
    with handle_errors():
        tz = dates.local_timezone(settings.timezone)
        found = lookup.conversation(settings.database_url, settings.user, conversation)
        with _database(settings).session() as session:
            messages = message_queries.list_messages(session, found.id)
            changes = change_lines.changes_by_message(session, found.id, messages, tz)
    if json_:
        _print_json(_history_json(found, messages, changes))
        return
    title = found.title or "(untitled)"
    console.print(shown(f"Conversation {short_id(found.id)}: {title}", "bold"))
    lines = {m: [c.text for c in found_changes] for m, found_changes in changes.items()}
    # Markdown on a terminal; in a pipe the text as stored (no padding to the width).
    for line in history_lines(messages, markdown=console.is_terminal, changes=lines):
        console.print(line)


def _history_json(conversation, messages, shown) -> dict:
    """The conversation, its messages, and under each the changes shown with it."""
    return {
        "id": str(conversation.id),
        "title": conversation.title,
        "messages": [
            {
                "id": m.id,
                "role": m.role,
                "content": m.content,
                "created_at": m.created_at.isoformat(),
                "changes": [c.as_json() for c in shown.get(m.id, [])],
            }
            for m in messages
        ],
    }


def _print_json(value) -> None:
    import json

    # ASCII-only escapes: stored text can never drive the terminal from JSON output.
    typer.echo(json.dumps(value, indent=2, ensure_ascii=True))
