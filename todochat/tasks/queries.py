"""Queries on tasks. A task is addressed by its owner and its short per-user number."""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Integer, Row, and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from todochat.db.models import Base, Task, User, utcnow
from todochat.errors import InvalidInputError, NotFoundError
from todochat.tasks import lists

if TYPE_CHECKING:
    from todochat.tasks.dates import Due

Status = Literal["open", "done", "all"]
DueFilter = Literal["today", "week", "overdue"]
Priority = Literal["low", "normal", "high"]
PRIORITIES = ("low", "normal", "high")


# Limits stated in the agent's tool descriptions too: notes go into every turn's instructions.
TITLE_LENGTH = 500
NOTES_LENGTH = 2000


def add_task(
    db: Session,
    user_id: uuid.UUID,
    title: str,
    notes: str = "",
    *,
    due: Due | None = None,
    priority: Priority | None = None,
    list_name: str | None = None,
) -> Task:
    """Add a task with the user's next number: one past any number they were ever given."""
    title, notes = _checked_title(title), _checked_notes(notes)
    task = Task(user_id=user_id, number=_next_number(db, user_id), title=title, notes=notes)
    task.list_name = list_name
    task.due_on, task.due_at = (due.on, due.at) if due else (None, None)
    task.priority = _checked_priority(priority)
    db.add(task)
    db.flush()
    return task


def _next_number(db: Session, user_id: uuid.UUID) -> int:
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
    number = db.scalar(bump, execution_options={"synchronize_session": False})
    if number is None:
        raise NotFoundError("this user does not exist in the app database")
    return number


def lock_list(db: Session, user_id: uuid.UUID) -> None:
    """Take the user's list for this transaction (their row; SQLite's write lock).

    A change reads the task, changes it and logs it: without this, two changes at once could
    log a "before" that the other had already overwritten.
    """
    touch = update(User).where(User.id == user_id).values(last_task_number=User.last_task_number)
    db.execute(touch, execution_options={"synchronize_session": False})


def checked_fields(title: str, notes: str, priority: str | None) -> tuple[str, str, str | None]:
    """Title, notes and priority as `add_task` takes them, for a task that arrives another
    way (an import): the same checks, the same normalized title."""
    return _checked_title(title), _checked_notes(notes), _checked_priority(priority)


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
    db: Session,
    user_id: uuid.UUID,
    status: Status = "open",
    due: DueFilter | None = None,
    *,
    today: date | None = None,
    now: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
    search: str | None = None,
    list_name: str | None = None,
) -> list[Task]:
    """The user's tasks with this status, soonest due first (undated last), then by number;
    `limit` of them after the first `offset` when given (`count_matching` says how many
    there are).

    `due` keeps those due `today`, within the seven days from `today` (`week`), or past
    their moment or day (`overdue`, open tasks only); `today` is the user's local date.
    `search` keeps those whose title contains any of its words (any case), the ones that
    contain the most of them first. `list_name` keeps the tasks of that list.
    """
    words = search_words(search)
    query = _matching(user_id, status, due, today, now, words, list_name)
    order = [Task.due_on.is_(None), Task.due_on, Task.due_at.is_(None), Task.due_at, Task.number]
    if words:
        order.insert(0, _hits(words).desc())
    return list(db.scalars(query.order_by(*order).limit(limit).offset(offset or None)))


def count_matching(
    db: Session,
    user_id: uuid.UUID,
    status: Status = "open",
    due: DueFilter | None = None,
    *,
    today: date | None = None,
    now: datetime | None = None,
    search: str | None = None,
    list_name: str | None = None,
) -> int:
    """How many tasks `list_tasks` would list without a limit."""
    words = search_words(search)
    query = _matching(user_id, status, due, today, now, words, list_name).subquery()
    return db.scalar(select(func.count()).select_from(query)) or 0


LAST_PAGE = 1_000_000  # beyond it an offset may not fit the database's integers


@dataclass(frozen=True)
class TaskPage:
    """One page of a listing: its tasks, how many match in all, and the first one's position."""

    tasks: list[Task]
    total: int
    first: int  # 1 for the first task listed

    @property
    def last(self) -> int:
        return self.first + len(self.tasks) - 1


def task_page(
    db: Session,
    user_id: uuid.UUID,
    status: Status = "open",
    due: DueFilter | None = None,
    *,
    page: int = 1,
    size: int,
    search: str | None = None,
    today: date | None = None,
    list_name: str | None = None,
) -> TaskPage:
    """The `page`-th `size` tasks of `list_tasks` (page 1 first) and how many match in all,
    counted only when this page does not settle it."""
    if not 1 <= page <= LAST_PAGE:
        raise InvalidInputError(f"pages are numbered from 1 to {LAST_PAGE:,}, not {page}")
    offset = (page - 1) * size
    only = {"search": search, "list_name": list_name, "today": today}
    found = list_tasks(db, user_id, status, due, limit=size, offset=offset, **only)
    if len(found) < size and (found or not offset):
        total = offset + len(found)
    else:
        total = count_matching(db, user_id, status, due, **only)
    return TaskPage(found, total, offset + 1)


SEARCH_WORDS = 8  # words of a search that count; the rest are ignored


def search_words(search: str | None) -> list[str]:
    """The distinct words of a search, lowercased, at most SEARCH_WORDS of them."""
    return list(dict.fromkeys((search or "").lower().split()))[:SEARCH_WORDS]


def _contains(word: str):
    return Task.title.icontains(word, autoescape=True)


def _hits(words: list[str]):
    """How many of the words a task's title contains."""
    return reduce(operator.add, [case((_contains(w), 1), else_=0) for w in words])


def list_names(db: Session, user_id: uuid.UUID) -> list[str]:
    """The names of the user's lists that have a task, in order."""
    query = select(Task.list_name).where(Task.user_id == user_id, Task.list_name.is_not(None))
    return sorted(set(db.scalars(query.distinct())))


def _matching(user_id, status: Status, due: DueFilter | None, today, now, words=(), list_name=None):
    query = select(Task).where(Task.user_id == user_id)
    if list_name is not None:
        query = query.where(Task.list_name == list_name)
    if status == "open" or due == "overdue":
        query = query.where(Task.done.is_(False))
    elif status == "done":
        query = query.where(Task.done.is_(True))
    if due is not None:
        query = query.where(_due_clause(due, today or date.today(), now or utcnow()))
    if words:
        query = query.where(or_(*[_contains(w) for w in words]))
    return query


def _pressing_statement():
    """`pressing_open_tasks`' one statement, built once: the instructions run it on every
    model call. Its order is the order of the index m005 adds (ix_tasks_user_pressing), so
    the database reads the first `limit` rows of that index and sorts nothing; the total of
    open tasks, a subquery run once, counts entries of the same index."""
    c = Task.__table__.c
    mine = (c.user_id == bindparam("user_id"), c.done.is_(False))
    total = select(func.count()).select_from(Task.__table__).where(*mine).scalar_subquery()
    notes = func.substr(c.notes, 1, bindparam("notes_cut", type_=Integer))
    return (
        select(c.number, c.title, notes.label("notes"), c.due_on, c.due_at, c.priority, c.list_name)
        .add_columns(total.label("open_total"))
        .where(*mine)
        .order_by(
            c.due_on.is_(None),
            c.due_on,
            c.due_at.is_(None),
            c.due_at,
            c.updated_at.desc(),
            c.number,
        )
        .limit(bindparam("limit", type_=Integer))
    )


PRESSING_QUERY = _pressing_statement()


def pressing_open_tasks(
    db: Session | Connection, user_id: uuid.UUID, limit: int, notes_cut: int = NOTES_LENGTH
) -> tuple[list[Row], int]:
    """At most `limit` open tasks, the most pressing first: overdue and due soonest (a time
    before a bare day), then the undated ones most recently touched; and how many open tasks
    the user has. Bounded by `limit`, not by how many the user has.

    Rows of what a listing line shows (number, title, notes cut to `notes_cut` characters,
    due_on, due_at, priority), not tasks: the agent's instructions are built from them on
    every model call (on a session, or a connection: see `Database.reading`).
    """
    params = {"user_id": user_id, "limit": limit, "notes_cut": notes_cut}
    rows = list(db.execute(PRESSING_QUERY, params))
    return rows, rows[0].open_total if rows else 0


def count_tasks(db: Session, user_id: uuid.UUID, status: Status = "open") -> int:
    """How many tasks the user has with this status, counted in the database."""
    query = select(func.count()).select_from(Task).where(Task.user_id == user_id)
    if status != "all":
        query = query.where(Task.done.is_(status == "done"))
    return db.scalar(query) or 0


def _due_clause(due: DueFilter, today: date, now: datetime):
    if due == "today":
        return Task.due_on == today
    if due == "week":
        return Task.due_on.between(today, today + timedelta(days=6))
    return or_(
        and_(Task.due_at.is_not(None), Task.due_at < now),
        and_(Task.due_at.is_(None), Task.due_on < today),
    )


def get_task(db: Session, user_id: uuid.UUID, number: int) -> Task:
    """The user's task #number; another user's task of that number is never found."""
    task = db.scalar(select(Task).where(Task.user_id == user_id, Task.number == number))
    if task is None:
        raise NotFoundError(f"there is no task #{number}")
    return task


def update_task(
    db: Session,
    user_id: uuid.UUID,
    number: int,
    *,
    title: str | None = None,
    notes: str | None = None,
    append_notes: str | None = None,
    due: Due | None = None,
    clear_due: bool = False,
    priority: Priority | None = None,
    move_to: tuple[str | None] | None = None,
) -> Task:
    """Rename a task, replace or append to its notes, set or clear its due date, set priority,
    move it to a list (`move_to=(name,)`; `(None,)` is the default list)."""
    task = get_task(db, user_id, number)
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
    if move_to is not None:
        task.list_name = move_to[0]
    task.updated_at = utcnow()
    return task


def set_done(db: Session, user_id: uuid.UUID, number: int, done: bool) -> Task:
    """Complete or reopen a task, recording when it was completed."""
    task = get_task(db, user_id, number)
    task.done = done
    task.completed_at = utcnow() if done else None
    task.updated_at = utcnow()
    return task


def delete_task(db: Session, user_id: uuid.UUID, number: int) -> Task:
    """Delete a task; its number is never given to another task (see `_next_number`)."""
    task = get_task(db, user_id, number)
    db.delete(task)
    db.flush()
    return task


def delete_all_tasks(db: Session, user_id: uuid.UUID) -> int:
    """Delete every task of the user, with the rows of any other per-user task table (a
    change log); the number of tasks deleted."""

    kept = {"users", "conversations", "tasks"}
    for table in reversed(Base.metadata.sorted_tables):
        if table.name not in kept and "user_id" in table.c:
            db.execute(delete(table).where(table.c.user_id == user_id))
    return db.execute(delete(Task).where(Task.user_id == user_id)).rowcount


def which_list(db: Session, user_id: uuid.UUID, name: str | None) -> str | None:
    """The list a name means: one of the user's lists matched loosely, or a new one; None
    for the to-do list everybody has ("todo", "reminders", no name)."""
    if lists.normalize(name) is None:
        return None
    return lists.choose(name, list_names(db, user_id))
