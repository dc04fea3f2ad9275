"""Commands over the app database alone (no model): tasks (the log's are in conversations.py)."""

from __future__ import annotations

import typer

from todochat.cli.common import console, error, handle_errors, resolve_settings


def register(app: typer.Typer) -> None:
    app.command("tasks")(tasks)


def _database(settings):
    from todochat.db import open_database

    return open_database(settings.database_url)


def tasks(
    all_: bool = typer.Option(False, "--all", help="Show open and completed tasks."),
    done: bool = typer.Option(False, "--done", help="Show completed tasks only."),
    user: str = typer.Option(None, "--user", help="Whose tasks (default: you)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show your tasks as a table.

    Example: todochat tasks --all   (or: todochat tasks --json)
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
    if as_json:
        from todochat.cli.conversations import echo_json
        from todochat.serialize import task_dict

        echo_json([task_dict(t) for t in found])
        return
    if found and not console.is_terminal:
        from todochat.chat.render import tasks_plain
        from todochat.cli.conversations import echo_lines

        echo_lines(tasks_plain(found))
        return
    console.print(tasks_table(found, TASK_TITLES[status]))
