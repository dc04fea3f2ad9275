"""The todo agent: instructions that carry the open tasks, and thin function tools."""

from __future__ import annotations

from typing import Any, Literal

from agents import Agent, RunContextWrapper, function_tool, set_tracing_disabled

from todochat.agent.context import NoUserError, resolve_context
from todochat.agent.models import configure_sdk, configured_model
from todochat.config import get_settings
from todochat.db import tasks as task_queries
from todochat.db.models import Task
from todochat.errors import ConfigError, TodochatError

INSTRUCTIONS = """You are todochat, a concise assistant that manages the user's todo list.
Use the tools for every change and every question about tasks; never invent tasks.
Tasks are referred to by number (#N). When the user says "it", "that task" or "the last one",
they mean the task the conversation last spoke of. After a tool call, reply in one or two short
sentences that name the task's number and title. Reply in Markdown."""


def describe(task: Task) -> str:
    """One line that names the number and title, so later turns can refer back to it."""
    status = "done" if task.done else "open"
    notes = f" (notes: {task.notes.replace(chr(10), '; ')})" if task.notes else ""
    return f"#{task.number} {task.title} [{status}]{notes}"


def instructions(wrapper: RunContextWrapper[Any], agent: Agent[Any]) -> str:
    """The base instructions plus the user's open tasks, fresh each turn (memory may be pruned)."""
    try:
        ctx = resolve_context(wrapper.context)
    except NoUserError:
        return f"{INSTRUCTIONS}\n\nThis run has no user, so there are no tasks to manage."
    with ctx.database.session() as session:
        open_tasks = task_queries.list_tasks(session, ctx.user_id, "open")
        listing = "\n".join(describe(t) for t in open_tasks) or "(none)"
    return f"{INSTRUCTIONS}\n\nThe user's open tasks:\n{listing}"


def _tool(wrapper: RunContextWrapper[Any], work) -> str:
    """Run a tool's work for the run's user; an expected failure is the tool's answer."""
    try:
        ctx = resolve_context(wrapper.context)
        with ctx.database.session() as session:
            return work(session, ctx.user_id)
    except TodochatError as exc:
        return f"Error: {exc}."


def _with_task(wrapper: RunContextWrapper[Any], change, verb: str) -> str:
    return _tool(wrapper, lambda session, user: f"{verb} task {describe(change(session, user))}")


@function_tool
def add_task(wrapper: RunContextWrapper[Any], title: str, notes: str = "") -> str:
    """Add a task to the user's todo list.

    Args:
        title: A short imperative title, e.g. "buy groceries" (at most 500 characters).
        notes: Optional details (at most 2000 characters).
    """
    return _with_task(
        wrapper, lambda s, u: task_queries.add_task(s, u, title.strip(), notes), "Added"
    )


@function_tool
def list_tasks(
    wrapper: RunContextWrapper[Any], status: Literal["open", "done", "all"] = "open"
) -> str:
    """List the user's tasks.

    Args:
        status: "open" (default), "done" for completed tasks, or "all".
    """
    label = {"open": "open", "done": "completed", "all": ""}[status]

    def listing(session, user_id) -> str:
        lines = [describe(t) for t in task_queries.list_tasks(session, user_id, status)]
        if not lines:
            return f"No {label} tasks.".replace("  ", " ")
        return f"{len(lines)} {label} task(s):\n".replace("  ", " ") + "\n".join(lines)

    return _tool(wrapper, listing)


@function_tool
def update_task(
    wrapper: RunContextWrapper[Any],
    task_number: int,
    title: str | None = None,
    notes: str | None = None,
    append_notes: str | None = None,
) -> str:
    """Rename a task, replace its notes, or append to its notes (e.g. "add milk to that task").

    Args:
        task_number: The task's number (#N).
        title: A new title, to rename it (at most 500 characters).
        notes: New notes that replace the old ones (at most 2000 characters).
        append_notes: Text to add to the existing notes (the total stays within 2000 characters).
    """

    def change(session, user_id):
        return task_queries.update_task(
            session, user_id, task_number, title=title, notes=notes, append_notes=append_notes
        )

    return _with_task(wrapper, change, "Updated")


@function_tool
def complete_task(wrapper: RunContextWrapper[Any], task_number: int) -> str:
    """Mark a task as done.

    Args:
        task_number: The task's number (#N).
    """
    return _with_task(
        wrapper, lambda s, u: task_queries.set_done(s, u, task_number, True), "Completed"
    )


@function_tool
def reopen_task(wrapper: RunContextWrapper[Any], task_number: int) -> str:
    """Mark a completed task as open again.

    Args:
        task_number: The task's number (#N).
    """
    return _with_task(
        wrapper, lambda s, u: task_queries.set_done(s, u, task_number, False), "Reopened"
    )


@function_tool
def delete_task(wrapper: RunContextWrapper[Any], task_number: int) -> str:
    """Delete a task for good.

    Args:
        task_number: The task's number (#N).
    """
    return _with_task(wrapper, lambda s, u: task_queries.delete_task(s, u, task_number), "Deleted")


TOOLS = [add_task, list_tasks, update_task, complete_task, reopen_task, delete_task]


def _disable_tracing_export() -> None:
    try:
        configure_sdk(get_settings())
    except ConfigError:
        set_tracing_disabled(True)


_disable_tracing_export()

todo_agent: Agent[Any] = Agent(
    name="todochat", instructions=instructions, tools=TOOLS, model=configured_model()
)
