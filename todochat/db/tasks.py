"""Queries on tasks. A task is addressed by its owner and its short per-user number."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from todochat.db.models import Task, User, utcnow
from todochat.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from todochat.dates import Due

Status = Literal["open", "done", "all"]
DueFilter = Literal["today", "week", "overdue"]
Priority = Literal["low", "normal", "high"]
PRIORITIES = ("low", "normal", "high")


# Limits stated in the agent's tool descriptions too: notes go into every turn's instructions.
TITLE_LENGTH = 500
NOTES_LENGTH = 2000


def add_task(
    session: Session,
    user_id: uuid.UUID,
    title: str,
    notes: str = "",
    *,
    due: Due | None = None,
    priority: Priority | None = None,
) -> Task:
    """Add a task with the user's next number: one past any number they were ever given."""
    title, notes = _checked_title(title), _checked_notes(notes)
    task = Task(user_id=user_id, number=_next_number(session, user_id), title=title, notes=notes)
    task.due_on, task.due_at = (due.on, due.at) if due else (None, None)
    task.priority = _checked_priority(priority)
    session.add(task)
    session.flush()
    return task


def _next_number(session: Session, user_id: uuid.UUID) -> int:
    """Count the user's counter up in one statement.

    The UPDATE locks the user's row (PostgreSQL) or the database (SQLite) until commit, so
    concurrent adds take turns, and a deleted task's number is never handed out again.
    """
    bump = (
        update(User)
        .where(User.id == user_id)
        .values(last_task_number=User.last_task_number + 1)
        .returning(User.last_task_number)
    )
    number = session.scalar(bump, execution_options={"synchronize_session": False})
    if number is None:
        raise NotFoundError("this user does not exist in the app database")
    return number


def lock_list(session: Session, user_id: uuid.UUID) -> None:
    """Take the user's list for this transaction (their row; SQLite's write lock).

    A change reads the task, changes it and logs it: without this, two changes at once could
    log a "before" that the other had already overwritten.
    """
    touch = update(User).where(User.id == user_id).values(last_task_number=User.last_task_number)
    session.execute(touch, execution_options={"synchronize_session": False})


def _checked_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise InvalidInputError("a task needs a title")
    if len(title) > TITLE_LENGTH:
        raise InvalidInputError(
            f"a task title is at most {TITLE_LENGTH} characters (this is {len(title)})"
        )
    return title


def _checked_priority(priority: str | None) -> str | None:
    if priority is not None and priority not in PRIORITIES:
        raise InvalidInputError(f"priority is one of {', '.join(PRIORITIES)}, not {priority!r}")
    return priority


def _checked_notes(notes: str) -> str:
    if len(notes) > NOTES_LENGTH:
        raise InvalidInputError(
            f"task notes are at most {NOTES_LENGTH} characters (these are {len(notes)})"
        )
    return notes


def list_tasks(
    session: Session,
    user_id: uuid.UUID,
    status: Status = "open",
    due: DueFilter | None = None,
    *,
    today: date | None = None,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[Task]:
    """The user's tasks with this status, soonest due first (undated last), then by number;
    the first `limit` of them when given (`count_matching` says how many there are).

    `due` keeps those due `today`, within the seven days from `today` (`week`), or past
    their moment or day (`overdue`, open tasks only); `today` is the user's local date.
    """
    query = _matching(user_id, status, due, today, now)
    order = (Task.due_on.is_(None), Task.due_on, Task.due_at.is_(None), Task.due_at, Task.number)
    return list(session.scalars(query.order_by(*order).limit(limit)))


def count_matching(
    session: Session,
    user_id: uuid.UUID,
    status: Status = "open",
    due: DueFilter | None = None,
    *,
    today: date | None = None,
    now: datetime | None = None,
) -> int:
    """How many tasks `list_tasks` would list without a limit."""
    query = _matching(user_id, status, due, today, now).subquery()
    return session.scalar(select(func.count()).select_from(query)) or 0


def _matching(user_id, status: Status, due: DueFilter | None, today, now):
    query = select(Task).where(Task.user_id == user_id)
    if status == "open" or due == "overdue":
        query = query.where(Task.done.is_(False))
    elif status == "done":
        query = query.where(Task.done.is_(True))
    if due is not None:
        query = query.where(_due_clause(due, today or date.today(), now or utcnow()))
    return query


def pressing_open_tasks(session: Session, user_id: uuid.UUID, limit: int) -> list[Task]:
    """At most `limit` open tasks, the most pressing first: overdue and due soonest, then the
    undated ones most recently touched. Bounded by `limit`, not by how many the user has."""
    order = (
        Task.due_on.is_(None),
        Task.due_on,
        Task.due_at.is_(None),
        Task.due_at,
        Task.updated_at.desc(),
        Task.number,
    )
    query = select(Task).where(Task.user_id == user_id, Task.done.is_(False))
    return list(session.scalars(query.order_by(*order).limit(limit)))


def count_tasks(session: Session, user_id: uuid.UUID, status: Status = "open") -> int:
    """How many tasks the user has with this status, counted in the database."""
    query = select(func.count()).select_from(Task).where(Task.user_id == user_id)
    if status != "all":
        query = query.where(Task.done.is_(status == "done"))
    return session.scalar(query) or 0


def _due_clause(due: DueFilter, today: date, now: datetime):
    if due == "today":
        return Task.due_on == today
    if due == "week":
        return Task.due_on.between(today, today + timedelta(days=6))
    return or_(
        and_(Task.due_at.is_not(None), Task.due_at < now),
        and_(Task.due_at.is_(None), Task.due_on < today),
    )


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
    due: Due | None = None,
    clear_due: bool = False,
    priority: Priority | None = None,
) -> Task:
    """Rename a task, replace or append to its notes, set or clear its due date, set priority."""
    task = get_task(session, user_id, number)
    if title:
        task.title = _checked_title(title)
    if notes is not None:
        task.notes = _checked_notes(notes)
    if append_notes:
        task.notes = _checked_notes(f"{task.notes}\n{append_notes}" if task.notes else append_notes)
    if due is not None or clear_due:
        task.due_on, task.due_at = (due.on, due.at) if due is not None else (None, None)
    if priority is not None:
        task.priority = _checked_priority(priority)
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
    """Delete a task; its number is never given to another task (see `_next_number`)."""
    task = get_task(session, user_id, number)
    session.delete(task)
    session.flush()
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
