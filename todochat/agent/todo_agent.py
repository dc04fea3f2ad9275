"""The todo agent: instructions that carry the open tasks, and thin function tools."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

from agents import Agent, RunContextWrapper, function_tool, set_tracing_disabled

from todochat.agent.context import NoUserError, resolve_context
from todochat.agent.models import configure_sdk, configured_model
from todochat.config import get_settings
from todochat.db.models import Task
from todochat.errors import ConfigError, TodochatError
from todochat.tasks import change_lines, dates, tasklist
from todochat.tasks import queries as task_queries
from todochat.tasks.change_log import Cause

INSTRUCTIONS = """You are todochat, a concise assistant that manages the user's todo list.
Use the tools for every change and every question about tasks; never invent tasks.
Tasks are referred to by number (#N). When the user says "it", "that task" or "the last one",
they mean the task the conversation last spoke of. Tasks may have a due date (with or without
a time) and a priority: pass the user's own words for a date as `due` ("tomorrow", "friday at
5pm", "by the 30th") and keep the date out of the title. "Undo that" calls undo_last_change.
After a tool call, reply in one or two short sentences that name the task's number and title.
Reply in Markdown."""


def describe(task: Task, tz: tzinfo | None = None) -> str:
    """One line that names the number and title, so later turns can refer back to it."""
    return task_line(task, task.done, tz or dates.local_timezone())


def task_line(
    task: Any, done: bool, tz: tzinfo, now: datetime | None = None, notes_shown: int | None = None
) -> str:
    """`describe` of anything with a task's number, title, notes, due_on, due_at and priority
    (a task, or a row of the instructions' listing); notes of `notes_shown` characters or
    more are cut there and marked "..." (as the listing has always cut them)."""
    now = now or datetime.now(UTC)
    extras = change_lines.extras(dates.due_label(task.due_on, task.due_at, tz, now), task.priority)
    named = getattr(task, "list_name", None)
    extras = ", ".join(e for e in (extras, f"list: {named}" if named else "") if e)
    if not done and dates.is_overdue(task.due_on, task.due_at, tz, now):
        extras += ", overdue"
    shown = f" ({extras})" if extras else ""
    notes = task.notes.replace("\n", "; ")
    if notes_shown is not None and len(notes) >= notes_shown:
        notes = f"{notes[:notes_shown].rstrip()}..."
    notes = f" (notes: {notes})" if notes else ""
    return f"#{task.number} {task.title} [{'done' if done else 'open'}]{shown}{notes}"


# The instructions go with every model call: they list the most pressing open tasks up to
# this many bytes, however many the user has; `list_tasks` shows the rest.
INSTRUCTIONS_BUDGET = 8000
LISTED_AT_MOST = 100  # rows read for the listing; the budget usually stops sooner
NOTES_SHOWN = 200  # characters of a task's notes the listing carries
MORE_TASKS = "...and {more} more open task(s) not listed here ({total} open in all): call list_tasks to see them."


def instructions(wrapper: RunContextWrapper[Any], agent: Agent[Any]) -> str:
    """The base instructions, today's date and the user's most pressing open tasks, fresh
    each turn (memory may be pruned), within INSTRUCTIONS_BUDGET bytes."""
    try:
        ctx = resolve_context(wrapper.context)
    except NoUserError:
        return f"{INSTRUCTIONS}\n\nThis run has no user, so there are no tasks to manage."
    tz = dates.local_timezone(ctx.timezone)
    head = f"{INSTRUCTIONS}\n\nNow: {datetime.now(tz):%A %d %B %Y %H:%M} ({tz}).\n"
    with ctx.database.reading() as conn:
        listing = open_task_listing(conn, ctx.user_id, tz, INSTRUCTIONS_BUDGET - len(head.encode()))
    return f"{head}The user's open tasks:\n{listing}"


def open_task_listing(conn, user_id, tz: tzinfo, budget: int) -> str:
    """One line per pressing open task while they fit in `budget` bytes (with room for the
    closing note), then how many more there are and where to find them."""
    pressing, total = task_queries.pressing_open_tasks(
        conn, user_id, LISTED_AT_MOST, notes_cut=NOTES_SHOWN + 1
    )
    now = datetime.now(UTC)
    lines: list[str] = []
    used = len(MORE_TASKS) + 24  # room for the note and its two numbers
    for row in pressing:
        line = task_line(row, False, tz, now, NOTES_SHOWN)
        used += len(line.encode()) + 1
        if used > budget:
            break
        lines.append(line)
    if len(lines) == len(pressing) < LISTED_AT_MOST:
        return "\n".join(lines) or "(none)"
    more = total - len(lines)
    return "\n".join([*lines, MORE_TASKS.format(more=more, total=total)] if more else lines)


def _tool(wrapper: RunContextWrapper[Any], work) -> str:
    """Run a tool's work for the run's user; an expected failure is the tool's answer.

    `work(db, actor)` runs in one transaction: a change and its log entry commit together.
    """
    try:
        ctx = resolve_context(wrapper.context)
        cause = Cause(ctx.user_id, ctx.conversation_id, ctx.message_id)
        actor = tasklist.Actor(cause, dates.local_timezone(ctx.timezone))
        with ctx.database.session() as db:
            return work(db, actor)
    except TodochatError as exc:
        return f"Error: {exc}."


def _with_task(wrapper: RunContextWrapper[Any], change, verb: str) -> str:
    return _tool(wrapper, lambda db, actor: f"{verb} task {describe(change(db, actor), actor.tz)}")


@function_tool
def add_task(
    wrapper: RunContextWrapper[Any],
    title: str,
    notes: str = "",
    due: str | None = None,
    priority: Literal["low", "normal", "high"] | None = None,
    list_name: str | None = None,
) -> str:
    """Add a task to the user's todo list.

    Args:
        title: A short imperative title without the date, e.g. "call the plumber"
            (at most 500 characters).
        notes: Optional details (at most 2000 characters).
        due: When it is due, in the user's words: "tomorrow", "next friday at 5pm",
            "in 3 days", "by the 30th", "end of month" or 2026-12-01.
        priority: "low", "normal" or "high", when the user says so.
        list_name: The named list it goes on when the user names one ("shopping" for "my
            shopping list"); leave it out for their to-do list. Never part of the title.
    """
    return _with_task(
        wrapper,
        lambda s, a: tasklist.add(s, a, title.strip(), notes, due, priority, list_name),
        "Added",
    )


# A page of `list_tasks`: its output stays in agent memory for the rest of the conversation
# and goes with every later model call, so a page is what a reply can use, not the whole list.
LIST_PAGE = 50


@function_tool
def list_tasks(
    wrapper: RunContextWrapper[Any],
    status: Literal["open", "done", "all"] = "open",
    due: Literal["today", "week", "overdue"] | None = None,
    search: str | None = None,
    page: int = 1,
    list_name: str | None = None,
) -> str:
    """List the user's tasks, soonest due first, 50 at a time: the first line says how many
    there are and, when there are more, the last line how to get the next page.

    Args:
        status: "open" (default), "done" for completed tasks, or "all".
        due: Only those due "today", within the next seven days ("week"), or "overdue".
        search: Only tasks whose title contains any of these words, best matches first
            (e.g. "plumber", "dentist appointment"): to find a task by its title.
        page: 1 (default) for the first 50, 2 for the next 50, and so on.
        list_name: Only the tasks of this named list ("shopping", "groceries" or "the
            party list": matched loosely).
    """

    def listing(db, actor) -> str:
        named = task_queries.which_list(db, actor.user_id, list_name)
        found = task_queries.task_page(
            db,
            actor.user_id,
            status,
            due,
            page=page,
            size=LIST_PAGE,
            search=search,
            today=dates.today(actor.tz),
            list_name=named,
        )
        label = listing_label(status, due, search, named)
        return page_text(found, page, label, actor.tz)

    return _tool(wrapper, listing)


def listing_label(
    status: str, due: str | None, search: str | None, list_name: str | None = None
) -> tuple[str, str]:
    """What a listing holds, around the word "tasks": ("completed", " due this week")."""
    kind = "overdue" if due == "overdue" else {"open": "open", "done": "completed"}.get(status, "")
    tail = {"today": " due today", "week": " due this week"}.get(due or "", "")
    tail += f" on the {list_name} list" if list_name else ""
    words = task_queries.search_words(search)
    return kind, tail + (f" matching {' '.join(words)!r}" if words else "")


def page_text(found: task_queries.TaskPage, page: int, label: tuple[str, str], tz: tzinfo) -> str:
    """A page of tasks, one line each, under how many there are; the next page's call last.

    A single task shows its notes whole; in a longer listing they are cut as in the
    instructions (a task's notes may be 2,000 characters)."""
    kind, tail = label
    head = f"{found.total} {kind} task(s){tail}".replace("  ", " ")
    if not found.tasks:
        if not found.total:
            return f"No {kind} tasks{tail}.".replace("  ", " ")
        pages = -(-found.total // LIST_PAGE)
        return f"{head}: page {page} is past the last ({pages} page(s) of {LIST_PAGE})."
    now = datetime.now(UTC)
    cut = None if len(found.tasks) == 1 else NOTES_SHOWN
    lines = [task_line(t, t.done, tz, now, cut) for t in found.tasks]
    if found.first == 1 and found.last == found.total:
        return f"{head}:\n" + "\n".join(lines)
    lines.insert(0, f"{head}; these are {found.first}-{found.last}:")
    if found.last < found.total:
        pages, left = -(-found.total // LIST_PAGE), found.total - found.last
        lines.append(
            f"Page {page} of {pages}: call list_tasks with page={page + 1} for the next "
            f"{min(left, LIST_PAGE)}, or with search (words of a title) to find a task."
        )
    return "\n".join(lines)


@function_tool
def update_task(
    wrapper: RunContextWrapper[Any],
    task_number: int,
    title: str | None = None,
    notes: str | None = None,
    append_notes: str | None = None,
    due: str | None = None,
    clear_due: bool = False,
    priority: Literal["low", "normal", "high"] | None = None,
    list_name: str | None = None,
) -> str:
    """Change a task: rename it, replace or append to its notes, move or clear its due date,
    set its priority, move it to a named list (e.g. "add milk to that task", "move it to
    friday", "no due date", "put it on the shopping list").

    Args:
        task_number: The task's number (#N).
        title: A new title, to rename it (at most 500 characters).
        notes: New notes that replace the old ones (at most 2000 characters).
        append_notes: Text to add to the existing notes (the total stays within 2000
            characters).
        due: A new due date in the user's words ("friday", "tomorrow at 9am", 2026-12-01).
        clear_due: True to remove the due date.
        priority: "low", "normal" or "high".
        list_name: The named list to move it to ("shopping"); "none" for the to-do list.
    """

    def change(db, actor):
        return tasklist.update(
            db,
            actor,
            task_number,
            title=title,
            notes=notes,
            append_notes=append_notes,
            due=due,
            clear_due=clear_due,
            priority=priority,
            list_name=list_name,
        )

    return _with_task(wrapper, change, "Updated")


@function_tool
def complete_task(wrapper: RunContextWrapper[Any], task_number: int) -> str:
    """Mark a task as done.

    Args:
        task_number: The task's number (#N).
    """
    return _with_task(wrapper, lambda s, a: tasklist.set_done(s, a, task_number, True), "Completed")


@function_tool
def reopen_task(wrapper: RunContextWrapper[Any], task_number: int) -> str:
    """Mark a completed task as open again.

    Args:
        task_number: The task's number (#N).
    """
    return _with_task(wrapper, lambda s, a: tasklist.set_done(s, a, task_number, False), "Reopened")


@function_tool
def delete_task(wrapper: RunContextWrapper[Any], task_number: int) -> str:
    """Delete a task. Its number is never given to another task.

    Args:
        task_number: The task's number (#N).
    """
    return _with_task(wrapper, lambda s, a: tasklist.delete(s, a, task_number), "Deleted")


@function_tool
def undo_last_change(wrapper: RunContextWrapper[Any]) -> str:
    """Undo the most recent change this conversation made to the list that is not undone yet
    (an added task is removed, a deleted one restored with its number, an edit or a
    completion reverted). Call again to go further back.
    """

    return _tool(wrapper, tasklist.undo_and_describe)


TOOLS = [
    add_task,
    list_tasks,
    update_task,
    complete_task,
    reopen_task,
    delete_task,
    undo_last_change,
]


def _disable_tracing_export() -> None:
    try:
        configure_sdk(get_settings())
    except ConfigError:
        set_tracing_disabled(True)


_disable_tracing_export()

todo_agent: Agent[Any] = Agent(
    name="todochat", instructions=instructions, tools=TOOLS, model=configured_model()
)
