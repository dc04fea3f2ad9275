"""Queries on the change log: what tools did to tasks, and which change an undo reverts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from todochat.db import clock
from todochat.db.models import Task, TaskChange

UNDO = "undo"
DATES = ("due_on",)
MOMENTS = ("due_at", "completed_at", "created_at", "updated_at")
FIELDS = ("number", "title", "notes", "done", "priority", "list_name", *DATES, *MOMENTS)


@dataclass(frozen=True)
class Cause:
    """Who made a change and why: the user, and the conversation and message that asked."""

    user_id: uuid.UUID
    conversation_id: uuid.UUID | None = None
    message_id: int | None = None


def snapshot(task: Task) -> dict[str, Any]:
    """The task's fields as JSON values (dates and moments as ISO text)."""
    out = {}
    for name in FIELDS:
        value = getattr(task, name)
        out[name] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


def apply_snapshot(task: Task, fields: dict[str, Any]) -> Task:
    """Put a snapshot's fields back on a task."""
    for name in FIELDS:
        value = fields.get(name)
        if value is not None and name in DATES:
            value = date.fromisoformat(value)
        elif value is not None and name in MOMENTS:
            value = datetime.fromisoformat(value)
        setattr(task, name, value)
    return task


def record(
    db: Session,
    cause: Cause,
    task: Task,
    action: str,
    before: dict[str, Any] | None,
    reverts: TaskChange | None = None,
) -> TaskChange:
    """Log a change in the caller's transaction; `task` is as it is after the change."""
    gone = action == "deleted" or (reverts is not None and reverts.action == "added")
    values = {
        "user_id": cause.user_id,
        "task_id": task.id,
        "task_number": task.number,
        "action": action,
        "before": before,
        "after": None if gone else snapshot(task),
        "conversation_id": cause.conversation_id,
        "message_id": cause.message_id,
        "reverts_id": reverts.id if reverts else None,
        "created_at": clock.stamp(db),  # the clock the log's messages are stamped by
    }
    return db.scalars(insert(TaskChange).values(values).returning(TaskChange)).one()


def last_undoable(db: Session, user_id: uuid.UUID, conversation_id: uuid.UUID) -> TaskChange | None:
    """The conversation's most recent change that is not an undo and not yet undone."""
    query = (
        select(TaskChange)
        .where(TaskChange.user_id == user_id, TaskChange.conversation_id == conversation_id)
        .where(TaskChange.action != UNDO, TaskChange.undone_at.is_(None))
        .order_by(TaskChange.id.desc())
        .limit(1)
    )
    return db.scalar(query)


def later_elsewhere(db: Session, change: TaskChange) -> TaskChange | None:
    """A change to the same task after `change`, made elsewhere and still standing."""
    query = (
        select(TaskChange)
        .where(TaskChange.task_id == change.task_id, TaskChange.id > change.id)
        .where(TaskChange.action != UNDO, TaskChange.undone_at.is_(None))
        .where(
            or_(
                TaskChange.conversation_id.is_(None),
                TaskChange.conversation_id != change.conversation_id,
            )
        )
        .limit(1)
    )
    return db.scalar(query)


def conversation_changes(
    db: Session,
    conversation_id: uuid.UUID,
    since: datetime | None = None,
    from_message: int | None = None,
) -> list[TaskChange]:
    """Every change made from this conversation, oldest first (undos included); with
    `from_message`, those of its messages from that id on, and message-less ones (`/undo`)
    from `since` on: ids order the log, where the clocks of its writers may not."""
    query = select(TaskChange).where(TaskChange.conversation_id == conversation_id)
    if from_message is not None:
        timed = and_(TaskChange.message_id.is_(None), TaskChange.created_at >= since)
        query = query.where(or_(TaskChange.message_id >= from_message, timed))
    return list(db.scalars(query.order_by(TaskChange.id)))


def by_ids(db: Session, ids: set[int]) -> dict[int, TaskChange]:
    if not ids:
        return {}
    return {c.id: c for c in db.scalars(select(TaskChange).where(TaskChange.id.in_(ids)))}
