"""Commands over the app database alone (no model): tasks (the log's are in conversations.py)."""

from __future__ import annotations

import typer

from todochat.cli.common import (
    EVERY,
    Command,
    console,
    count_option,
    current_user,
    err_console,
    error,
    handle_errors,
)
from todochat.cli.conversations import echo_json, echo_lines
from todochat.ui.render import TASK_TITLES, tasks_plain, tasks_table

TASK_PAGE = 100  # tasks shown unless told otherwise


def register(app: typer.Typer) -> None:
    app.command("tasks", cls=Command)(tasks)


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
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    limit: int = typer.Option(
        TASK_PAGE, "--limit", "-n", callback=count_option, help="Show the first N (0: every one)."
    ),
    list_name: str = typer.Option(
        None,
        "--list",
        "-l",
        callback=lambda value: _list_name(value),
        help="Only this list's tasks (e.g. shopping; matched loosely).",
    ),
) -> None:
    """Show your tasks as a table, soonest due first (overdue ones say so); the first 100
    unless told otherwise, saying how many there are in all.

    Example: todochat tasks --due week   (or: --list shopping, --json, -n 0)
    """

    if all_ and done:
        raise error("use either --all or --done, not both", 2)
    if due is not None and due not in DUE_TITLES:
        raise error(f"--due must be today, week or overdue, not {due!r}", 2)
    me = current_user(user)
    status = "all" if all_ else "done" if done else "open"
    with handle_errors():
        tz = me.app.timezone
        size = None if limit == EVERY else limit
        page = me.tasks.page(status, due, size=size, list_name=list_name)
    found, total = page.tasks, page.total
    if total > len(found):
        err_console.print(
            f"Showing {len(found)} of {total} tasks; -n 0 shows every one.", style="dim"
        )
    if as_json:
        from todochat.ui.serialize import task_dict

        echo_json([task_dict(t) for t in found])
        return
    if found and not console.is_terminal:
        echo_lines(tasks_plain(found, tz))
        return
    title = TASK_TITLES[status] + DUE_TITLES.get(due, "")
    title += f" on the {list_name} list" if list_name else ""
    console.print(tasks_table(found, "Overdue tasks" if due == "overdue" else title, tz))


def _list_name(value: str | None) -> str | None:
    """`--list`: a list's name, not blank and within a list name's length (usage errors)."""
    from todochat.tasks.lists import LONGEST

    if value is not None and not value.strip():
        raise error("--list needs a list's name (e.g. shopping)", 2)
    if value is not None and len(value) > LONGEST:
        raise error(f"--list takes a list's name of at most {LONGEST} characters", 2)
    return value


DUE_TITLES = {"today": " due today", "week": " due this week", "overdue": ""}
