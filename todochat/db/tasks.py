"""Queries on tasks. A task is addressed by its owner and its short per-user number."""

from __future__ import annotations

import time
import uuid
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from todochat.db.models import Task, User, utcnow
from todochat.errors import AppDatabaseError, InvalidInputError, NotFoundError

Status = Literal["open", "done", "all"]


TITLE_LENGTH = 500


def add_task(session: Session, user_id: uuid.UUID, title: str, notes: str = "") -> Task:
    """Add a task numbered one past the user's highest number.

    The user's row is locked first (`FOR UPDATE` on PostgreSQL; SQLite serializes writers),
    so concurrent adds for one user take turns instead of colliding on a number.
    """
    title = _checked_title(title)
    if session.scalar(select(User.id).where(User.id == user_id).with_for_update()) is None:
        raise NotFoundError("this user does not exist in the app database")
    for attempt in range(5):
        highest = session.scalar(select(func.max(Task.number)).where(Task.user_id == user_id))
        try:
            with session.begin_nested():
                task = Task(user_id=user_id, number=(highest or 0) + 1, title=title, notes=notes)
                session.add(task)
            return task
        except IntegrityError as exc:
            if "number" not in str(exc.orig):  # only a lost race for the number is retried
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AppDatabaseError("could not allocate a task number; try again")


def _checked_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise InvalidInputError("a task needs a title")
    if len(title) > TITLE_LENGTH:
        raise InvalidInputError(f"a task title is at most {TITLE_LENGTH} characters")
    return title


def list_tasks(session: Session, user_id: uuid.UUID, status: Status = "open") -> list[Task]:
    """The user's tasks with this status, by number."""
    query = select(Task).where(Task.user_id == user_id)
    if status == "open":
        query = query.where(Task.done.is_(False))
    elif status == "done":
        query = query.where(Task.done.is_(True))
    return list(session.scalars(query.order_by(Task.number)))


def get_task(session: Session, user_id: uuid.UUID, number: int) -> Task:
    """The user's task #number; another user's task of that number is never found."""
    task = session.scalar(select(Task).where(Task.user_id == user_id, Task.number == number))
    if task is None:
        raise NotFoundError(f"there is no task #{number}")
    return task


def update_task(
    session: Session,
    user_id: uuid.UUID,
    number: int,
    *,
    title: str | None = None,
    notes: str | None = None,
    append_notes: str | None = None,
) -> Task:
    """Rename a task, replace its notes, or append a line to them."""
    task = get_task(session, user_id, number)
    if title:
        task.title = _checked_title(title)
    if notes is not None:
        task.notes = notes
    if append_notes:
        task.notes = f"{task.notes}\n{append_notes}" if task.notes else append_notes
    task.updated_at = utcnow()
    return task


def set_done(session: Session, user_id: uuid.UUID, number: int, done: bool) -> Task:
    """Complete or reopen a task, recording when it was completed."""
    task = get_task(session, user_id, number)
    task.done = done
    task.completed_at = utcnow() if done else None
    task.updated_at = utcnow()
    return task


def delete_task(session: Session, user_id: uuid.UUID, number: int) -> Task:
    """Delete a task; its number is not reused while higher numbers exist."""
    task = get_task(session, user_id, number)
    session.delete(task)
    return task


def delete_all_tasks(session: Session, user_id: uuid.UUID) -> int:
    """Delete every task of the user, with the rows of any other per-user task table (a
    change log); the number of tasks deleted."""
    from sqlalchemy import delete

    from todochat.db.models import Base

    kept = {"users", "conversations", "tasks"}
    for table in reversed(Base.metadata.sorted_tables):
        if table.name not in kept and "user_id" in table.c:
            session.execute(delete(table).where(table.c.user_id == user_id))
    return session.execute(delete(Task).where(Task.user_id == user_id)).rowcount
