"""The todo list as the agent's tools change it: each change is logged in its transaction.

The tools, `/undo` and tests call these; `todochat.tasks.change_lines` reads the log back for
history. `due` arrives as the user's words and is read by `todochat.tasks.dates`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy.orm import Session

from todochat.db.models import Task, TaskChange, utcnow
from todochat.errors import ConflictError, InvalidInputError, NotFoundError
from todochat.log.conversations import short_id
from todochat.tasks import change_log as changes
from todochat.tasks import dates
from todochat.tasks import queries as task_queries
from todochat.tasks.change_lines import describe_change
from todochat.tasks.change_log import Cause


@dataclass(frozen=True)
class Actor:
    """A change's cause (user, conversation, message) and the user's time zone."""

    cause: Cause
    tz: tzinfo

    @property
    def user_id(self) -> uuid.UUID:
        return self.cause.user_id


def add(
    session: Session,
    actor: Actor,
    title: str,
    notes: str = "",
    due: str | None = None,
    priority: task_queries.Priority | None = None,
) -> Task:
    parsed = _due(due, actor)  # before any statement: no lock is held while a date is read
    task = task_queries.add_task(
        session, actor.user_id, title, notes, due=parsed, priority=priority
    )
    changes.record(session, actor.cause, task, "added", None)
    return task


def update(
    session: Session,
    actor: Actor,
    number: int,
    *,
    title: str | None = None,
    notes: str | None = None,
    append_notes: str | None = None,
    due: str | None = None,
    clear_due: bool = False,
    priority: task_queries.Priority | None = None,
) -> Task:
    """Rename, replace or append notes, set (`due` as text) or clear the due date, priority."""
    parsed = _due(due, actor)
    given = (title, notes, append_notes, parsed, priority)
    if all(v is None for v in given) and not clear_due:
        raise InvalidInputError("nothing to change: give a title, notes, a due date or priority")
    fields = dict(title=title, notes=notes, append_notes=append_notes, priority=priority)
    return _logged(
        session,
        actor,
        number,
        "updated",
        lambda: task_queries.update_task(
            session, actor.user_id, number, due=parsed, clear_due=clear_due, **fields
        ),
    )


def set_done(session: Session, actor: Actor, number: int, done: bool) -> Task:
    action = "completed" if done else "reopened"
    return _logged(
        session,
        actor,
        number,
        action,
        lambda: task_queries.set_done(session, actor.user_id, number, done),
    )


def delete(session: Session, actor: Actor, number: int) -> Task:
    return _logged(
        session,
        actor,
        number,
        "deleted",
        lambda: task_queries.delete_task(session, actor.user_id, number),
    )


def _logged(session: Session, actor: Actor, number: int, action: str, change) -> Task:
    """Lock the list, snapshot the task, change it, log before and after."""
    task_queries.lock_list(session, actor.user_id)
    before = changes.snapshot(task_queries.get_task(session, actor.user_id, number))
    task = change()
    changes.record(session, actor.cause, task, action, before)
    return task


def _due(text: str | None, actor: Actor) -> dates.Due | None:
    if text is None or not text.strip():
        return None
    return dates.parse_due(text, actor.tz)


def undo_last(session: Session, actor: Actor) -> TaskChange:
    """Revert this conversation's most recent change not yet undone; return the undo's record.

    Refused when another conversation changed the task since: its change would be lost.
    """
    if actor.cause.conversation_id is None:
        raise NotFoundError("nothing to undo: this run has no conversation")
    task_queries.lock_list(session, actor.user_id)
    change = changes.last_undoable(session, actor.user_id, actor.cause.conversation_id)
    if change is None:
        raise NotFoundError("nothing left to undo in this conversation")
    _refuse_across_others(session, change, actor.tz)
    task = session.get(Task, change.task_id)
    if task is not None and task.user_id != actor.user_id:  # a change never reaches another's
        raise NotFoundError(f"#{change.task_number} is not one of your tasks; nothing to undo")
    before = changes.snapshot(task) if task is not None else None
    task = _revert(session, change, task)
    change.undone_at = utcnow()
    return changes.record(session, actor.cause, task, changes.UNDO, before, reverts=change)


def undo_and_describe(session: Session, actor: Actor) -> str:
    """`undo_last`, said in one line (the tool's answer and `/undo`'s)."""
    done = undo_last(session, actor)
    return f"Undone: {describe_change(session.get(TaskChange, done.reverts_id), actor.tz)}"


def _refuse_across_others(session: Session, change: TaskChange, tz: tzinfo) -> None:
    later = changes.later_elsewhere(session, change)
    if later is None:
        return
    where = f"in conversation {short_id(later.conversation_id)}" if later.conversation_id else ""
    raise ConflictError(
        f"cannot undo '{describe_change(change, tz)}': #{change.task_number} was changed "
        f"since {where}".rstrip()
        + "; undo it there first or change the task by hand"
    )


def _revert(session: Session, change: TaskChange, task: Task | None) -> Task:
    if change.action == "deleted":
        if task is not None:
            raise ConflictError(f"#{change.task_number} exists again; nothing to restore")
        task = Task(id=change.task_id, user_id=change.user_id)
        session.add(changes.apply_snapshot(task, change.before))
        session.flush()
        return task
    if task is None:
        raise ConflictError(f"#{change.task_number} no longer exists; nothing to undo")
    if change.action == "added":
        session.delete(task)
        session.flush()
        return task
    changes.apply_snapshot(task, change.before)
    task.updated_at = utcnow()
    return task
