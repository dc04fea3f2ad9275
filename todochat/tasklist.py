"""The todo list as the agent's tools change it: each change is logged in its transaction.

The tools, `/undo` and tests call these; `todochat history` reads the log back through
`describe_change`. `due` arrives as the user's words and is read by `todochat.dates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy.orm import Session

from todochat import dates
from todochat.db import changes
from todochat.db import tasks as task_queries
from todochat.db.changes import Cause
from todochat.db.conversations import short_id
from todochat.db.models import Task, TaskChange, utcnow
from todochat.errors import ConflictError, InvalidInputError, NotFoundError


@dataclass(frozen=True)
class Actor:
    """A change's cause (user, conversation, message) and the user's time zone."""

    cause: Cause
    tz: tzinfo

    @property
    def user_id(self):
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


def describe_change(change: TaskChange, tz: tzinfo, reverted: TaskChange | None = None) -> str:
    """One line: `added #3 call mom (due Fri 28 Nov)`, `undid: completed #2 pay rent`."""
    if change.action == changes.UNDO:
        inner = describe_change(reverted, tz) if reverted else f"a change to #{change.task_number}"
        return f"undid: {inner}"
    fields = change.after or change.before or {}
    head = f"{change.action} #{change.task_number} {fields.get('title', '')}".rstrip()
    if change.action == "added":
        extra = task_extras(fields, tz)
        return f"{head} ({extra})" if extra else head
    if change.action == "updated":
        return f"{head}: {_differences(change.before or {}, fields, tz)}"
    return head


def task_extras(fields: dict, tz: tzinfo) -> str:
    """`due Fri 28 Nov 17:00, high priority` from a snapshot (empty when neither is set)."""
    parts = []
    label = _due_label(fields, tz)
    if label:
        parts.append(f"due {label}")
    if fields.get("priority"):
        parts.append(f"{fields['priority']} priority")
    return ", ".join(parts)


def _due_label(fields: dict, tz: tzinfo) -> str:
    empty = Task()
    changes.apply_snapshot(empty, fields)
    return dates.due_label(empty.due_on, empty.due_at, tz)


def _differences(before: dict, after: dict, tz: tzinfo) -> str:
    parts = []
    if before.get("title") != after.get("title"):
        parts.append(f"renamed from {before.get('title')!r}")
    if before.get("notes") != after.get("notes"):
        parts.append("notes changed")
    old, new = _due_label(before, tz), _due_label(after, tz)
    if old != new:
        parts.append(f"due {new or 'never'}" + (f" (was {old})" if old else ""))
    if before.get("priority") != after.get("priority"):
        parts.append(f"priority {after.get('priority') or 'none'}")
    return "; ".join(parts) or "no change"


@dataclass(frozen=True)
class ShownChange:
    """A logged change as history shows it: its line, and its record for `--json`."""

    text: str
    change: TaskChange

    def as_json(self) -> dict:
        c = self.change
        return {
            "task": c.task_number,
            "action": c.action,
            "text": self.text,
            "before": c.before,
            "after": c.after,
            "message_id": c.message_id,
            "reverts": c.reverts_id,
            "undone": c.undone_at is not None,
            "at": c.created_at.isoformat(),
        }


def changes_by_message(
    session: Session, conversation_id, messages: list, tz: tzinfo
) -> dict[int, list[ShownChange]]:
    """The conversation's changes under the message that shows them: the reply of the turn
    that made them, or the turn's own message when it has no reply (a failed model). A change
    without a message (`/undo`) goes under the last message before it."""
    logged = changes.conversation_changes(session, conversation_id)
    if not logged or not messages:
        return {}
    by_id = {c.id: c for c in logged} | changes.by_ids(
        session, {c.reverts_id for c in logged if c.reverts_id} - {c.id for c in logged}
    )
    shown: dict[int, list[ShownChange]] = {}
    for change in logged:
        text = describe_change(change, tz, by_id.get(change.reverts_id))
        anchor = _anchor(change, messages)
        shown.setdefault(anchor, []).append(ShownChange(text, change))
    return shown


def _anchor(change: TaskChange, messages: list) -> int:
    index = next((i for i, m in enumerate(messages) if m.id == change.message_id), None)
    if index is None:  # no message of its own: the last one written before the change
        earlier = [i for i, m in enumerate(messages) if m.created_at <= change.created_at]
        return messages[earlier[-1] if earlier else 0].id
    following = messages[index + 1] if index + 1 < len(messages) else None
    if following is not None and following.role == "assistant":
        return following.id
    return messages[index].id
