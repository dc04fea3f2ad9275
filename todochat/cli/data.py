"""Commands over the app database alone (no model): tasks, conversations, history."""

from __future__ import annotations

import typer

from todochat.cli.common import (
    console,
    error,
    handle_errors,
    nonblank_conversation,
    resolve_settings,
)
from todochat.identity import short_id


def register(app: typer.Typer) -> None:
    app.command("tasks")(tasks)
    app.command("conversations")(conversations)
    app.command("history")(history)


def _database(settings):
    from todochat.db import open_database

    return open_database(settings.database_url)


def tasks(
    all_: bool = typer.Option(False, "--all", help="Show open and completed tasks."),
    done: bool = typer.Option(False, "--done", help="Show completed tasks only."),
    user: str = typer.Option(None, "--user", help="Whose tasks (default: you)."),
) -> None:
    """Show your tasks as a table.

    Example: todochat tasks --all
    """
    from todochat import lookup
    from todochat.chat.render import TASK_TITLES, tasks_table
    from todochat.db import tasks as task_queries

    if all_ and done:
        raise error("use either --all or --done, not both", 2)
    settings = resolve_settings(user=user)
    status = "all" if all_ else "done" if done else "open"
    with handle_errors():
        user_id = lookup.user_id(settings.database_url, settings.user)
        found = []
        if user_id is not None:
            with _database(settings).session() as session:
                found = task_queries.list_tasks(session, user_id, status)
    console.print(tasks_table(found, TASK_TITLES[status]))


def conversations(
    user: str = typer.Option(None, "--user", help="Whose conversations (default: you)."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many to show."),
) -> None:
    """List your conversations, newest first.

    Example: todochat conversations -n 5
    """
    from rich.table import Table

    from todochat import lookup
    from todochat.chat.render import ago
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
            row.short_id, row.title or "(untitled)", str(row.messages), ago(row.updated_at)
        )
    console.print(table)


def history(
    conversation: str = typer.Argument(
        ..., help="Conversation id or unique prefix.", callback=nonblank_conversation
    ),
    user: str = typer.Option(None, "--user", help="Whose conversation (default: you)."),
) -> None:
    """Show a conversation's messages from the durable log.

    Example: todochat history 3f2a
    """
    from todochat import lookup
    from todochat.chat.render import history_lines
    from todochat.db import messages as message_queries
    from todochat.log_turns import in_turn_order

    settings = resolve_settings(user=user)
    with handle_errors():
        found = lookup.conversation(settings.database_url, settings.user, conversation)
        with _database(settings).session() as session:
            messages = in_turn_order(message_queries.list_messages(session, found.id))
    console.print(f"Conversation {short_id(found.id)}: {found.title or '(untitled)'}", style="bold")
    # Markdown on a terminal; in a pipe the text as stored (no padding to the width).
    for line in history_lines(messages, markdown=console.is_terminal):
        console.print(line)
