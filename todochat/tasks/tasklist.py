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
from todochat.errors import ConflictError, InvalidInputError, NotFoundError, NothingChangedError
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
    db: Session,
    actor: Actor,
    title: str,
    notes: str = "",
    due: str | None = None,
    priority: task_queries.Priority | None = None,
    list_name: str | None = None,
) -> Task:
    parsed = _due(due, actor)  # before any statement: no lock is held while a date is read
    named = task_queries.which_list(db, actor.user_id, list_name)
    task = task_queries.add_task(
        db, actor.user_id, title, notes, due=parsed, priority=priority, list_name=named
    )
    changes.record(db, actor.cause, task, "added", None)
    return task


def update(
    db: Session,
    actor: Actor,
    number: int,
    *,
    title: str | None = None,
    notes: str | None = None,
    append_notes: str | None = None,
    due: str | None = None,
    clear_due: bool = False,
    priority: task_queries.Priority | None = None,
    list_name: str | None = None,
) -> Task:
    """Rename, replace or append notes, set (`due` as text) or clear the due date, priority,
    or move it to a list (`list_name`; "none" or "to-do" is the default list)."""
    parsed = _due(due, actor)
    given = (title, notes, append_notes, parsed, priority, list_name)
    if all(v is None for v in given) and not clear_due:
        raise InvalidInputError("nothing to change: give a title, notes, a due date or priority")
    fields = dict(title=title, notes=notes, append_notes=append_notes, priority=priority)
    if list_name is not None:
        fields["move_to"] = (task_queries.which_list(db, actor.user_id, list_name),)
    return _logged(
        db,
        actor,
        number,
        "updated",
        lambda: task_queries.update_task(
            db, actor.user_id, number, due=parsed, clear_due=clear_due, **fields
        ),
    )


def set_done(db: Session, actor: Actor, number: int, done: bool) -> Task:
    action = "completed" if done else "reopened"
    return _logged(
        db,
        actor,
        number,
        action,
        lambda: task_queries.set_done(db, actor.user_id, number, done),
    )


def delete(db: Session, actor: Actor, number: int) -> Task:
    return _logged(
        db,
        actor,
        number,
        "deleted",
        lambda: task_queries.delete_task(db, actor.user_id, number),
    )


def _logged(db: Session, actor: Actor, number: int, action: str, change) -> Task:
    """Lock the list, snapshot the task, change it, log before and after."""
    task_queries.lock_list(db, actor.user_id)
    before = changes.snapshot(task_queries.get_task(db, actor.user_id, number))
    task = change()
    if action != "deleted" and _same(before, changes.snapshot(task)):
        raise NothingChangedError(_unchanged(task, action))  # the transaction is rolled back
    changes.record(db, actor.cause, task, action, before)
    return task


# Moments a change sets by itself: a task whose other fields are as they were is unchanged.
STAMPS = ("updated_at", "completed_at")


def _same(before: dict, after: dict) -> bool:
    return all(before[k] == after[k] for k in changes.FIELDS if k not in STAMPS)


def _unchanged(task: Task, action: str) -> str:
    state = {"completed": "is already done", "reopened": "is already open"}
    return (
        f"#{task.number} {task.title} {state.get(action, 'is already like that')}; nothing changed"
    )


def _due(text: str | None, actor: Actor) -> dates.Due | None:
    if text is None or not text.strip():
        return None
    return dates.parse_due(text, actor.tz)


def undo_last(db: Session, actor: Actor) -> TaskChange:
    """Revert this conversation's most recent change not yet undone; return the undo's record.

    Refused when another conversation changed the task since: its change would be lost.
    """
    if actor.cause.conversation_id is None:
        raise NotFoundError("nothing to undo: this run has no conversation")
    task_queries.lock_list(db, actor.user_id)
    change = changes.last_undoable(db, actor.user_id, actor.cause.conversation_id)
    if change is None:
        raise NotFoundError("nothing left to undo in this conversation")
    _refuse_across_others(db, change, actor.tz)
    task = db.get(Task, change.task_id)
    if task is not None and task.user_id != actor.user_id:  # a change never reaches another's
        raise NotFoundError(f"#{change.task_number} is not one of your tasks; nothing to undo")
    before = changes.snapshot(task) if task is not None else None
    task = _revert(db, change, task)
    change.undone_at = utcnow()
    return changes.record(db, actor.cause, task, changes.UNDO, before, reverts=change)


def undo_and_describe(db: Session, actor: Actor) -> str:
    """`undo_last`, said in one line (the tool's answer and `/undo`'s)."""
    done = undo_last(db, actor)
    return f"Undone: {describe_change(db.get(TaskChange, done.reverts_id), actor.tz)}"


def _refuse_across_others(db: Session, change: TaskChange, tz: tzinfo) -> None:
    later = changes.later_elsewhere(db, change)
    if later is None:
        return
    where = f"in conversation {short_id(later.conversation_id)}" if later.conversation_id else ""
    raise ConflictError(
        f"cannot undo '{describe_change(change, tz)}': #{change.task_number} was changed "
        f"since {where}".rstrip()
        + "; undo it there first or change the task by hand"
    )


def _revert(db: Session, change: TaskChange, task: Task | None) -> Task:
    if change.action == "deleted":
        if task is not None:
            raise ConflictError(f"#{change.task_number} exists again; nothing to restore")
        task = Task(id=change.task_id, user_id=change.user_id)
        db.add(changes.apply_snapshot(task, change.before))
        db.flush()
        return task
    if task is None:
        raise ConflictError(f"#{change.task_number} no longer exists; nothing to undo")
    if change.action == "added":
        db.delete(task)
        db.flush()
        return task
    changes.apply_snapshot(task, change.before)
    task.updated_at = utcnow()
    return task
