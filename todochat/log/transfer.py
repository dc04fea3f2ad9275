"""Reading a user's whole log for export, and writing an export back without duplicates.

An import never writes a file's message or change ids: rows get this database's ids, and
what was imported before is known by its content (see `message_keys`, `change_keys`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Row, insert, select, text, update
from sqlalchemy.orm import Session

from todochat.db.models import Conversation, Message, Task, TaskChange, User
from todochat.identity import user_id_for
from todochat.log.messages import MESSAGE_COLUMNS

BATCH = 2000


def users_by_name(db: Session, names: list[str] | None) -> list[User]:
    """These users (None: everyone), by name."""
    query = select(User).order_by(User.name)
    if names is not None:
        query = query.where(User.name.in_(names))
    return list(db.scalars(query))


def conversations_of(
    db: Session, user_id: uuid.UUID, ids: list[uuid.UUID] | None
) -> list[Conversation]:
    """The user's conversations (None: all), oldest first."""
    query = select(Conversation).where(Conversation.user_id == user_id)
    if ids is not None:
        query = query.where(Conversation.id.in_(ids))
    return list(db.scalars(query.order_by(Conversation.created_at, Conversation.id)))


def messages_of(db: Session, conversation_ids: list[uuid.UUID]) -> Iterator[Row]:
    """The messages of these conversations (rows), by conversation then in logged order."""
    for start in range(0, len(conversation_ids), BATCH):
        chunk = conversation_ids[start : start + BATCH]
        query = (
            select(*MESSAGE_COLUMNS)
            .where(Message.conversation_id.in_(chunk))
            .order_by(Message.conversation_id, Message.id)  # ids, not the writers' clocks
        )
        yield from db.execute(query)


def tasks_of(db: Session, user_id: uuid.UUID) -> list[Task]:
    return list(db.scalars(select(Task).where(Task.user_id == user_id).order_by(Task.number)))


def changes_of(db: Session, user_id: uuid.UUID) -> list[TaskChange]:
    """The user's task change log, in the order it was written."""
    query = select(TaskChange).where(TaskChange.user_id == user_id).order_by(TaskChange.id)
    return list(db.scalars(query))


IMPORT_LOCK_KEY = 7_274_2121  # any constant; it names "todochat import" to PostgreSQL


def lock_for_import(db: Session) -> None:
    """Take the write lock first (SQLite) or serialize imports (PostgreSQL): what the import
    reads to skip what is there stays true until it commits, and it commits whole."""
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("BEGIN IMMEDIATE"))
    else:
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})


def ensure_user(db: Session, name: str) -> User:
    """The user called `name`, added in the import's transaction (no savepoint: on SQLite
    its release would commit the user whatever became of the import)."""
    user = db.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(id=user_id_for(name), name=name)
        db.add(user)
        db.flush()
    return user


def conversation_owners(db: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Which user owns each of these conversations (absent: no such conversation)."""
    owners: dict[uuid.UUID, uuid.UUID] = {}
    for chunk in _chunks(ids):
        query = select(Conversation.id, Conversation.user_id).where(Conversation.id.in_(chunk))
        owners.update({row[0]: row[1] for row in db.execute(query)})
    return owners


def message_keys(db: Session, conversation_ids: list[uuid.UUID]) -> dict[tuple, int]:
    """The messages of these conversations by (conversation, role, time, text): how an
    import knows a message it brought before, whatever id the file gave it."""
    keys = {}
    for chunk in _chunks(conversation_ids):
        query = select(
            Message.conversation_id, Message.role, Message.created_at, Message.content, Message.id
        ).where(Message.conversation_id.in_(chunk))
        keys.update({tuple(row[:4]): row[4] for row in db.execute(query)})
    return keys


def change_keys(db: Session, user_id: uuid.UUID) -> dict[tuple, int]:
    """The user's logged changes by (task, action, time), as `message_keys` for messages."""
    query = select(
        TaskChange.task_id, TaskChange.action, TaskChange.created_at, TaskChange.id
    ).where(TaskChange.user_id == user_id)
    return {tuple(row[:3]): row[3] for row in db.execute(query)}


def task_owners(db: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[uuid.UUID, int]]:
    """The owner and number of each of these tasks that exists."""
    owners = {}
    for chunk in _chunks(ids):
        query = select(Task.id, Task.user_id, Task.number).where(Task.id.in_(chunk))
        owners.update({row[0]: (row[1], row[2]) for row in db.execute(query)})
    return owners


def numbers_in_use(db: Session, user_id: uuid.UUID) -> dict[int, uuid.UUID]:
    """Every number of the user's that names a task, live or in the change log."""
    logged = select(TaskChange.task_number, TaskChange.task_id).where(TaskChange.user_id == user_id)
    live = select(Task.number, Task.id).where(Task.user_id == user_id)
    return {row[0]: row[1] for query in (logged, live) for row in db.execute(query)}


def insert_rows(db: Session, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows (all with the same keys) in their order; their new ids, in that order."""
    ids: list[int] = []
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    for chunk in _chunks(rows):
        ids += db.scalars(statement, chunk).all()
    return ids


def add_rows(db: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Add rows that may each lack columns (their defaults apply), ids as given."""
    db.add_all([model(**row) for row in rows])
    db.flush()


def update_rows(db: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Set columns of rows named by id (`{"id": …, column: value}` each)."""
    for chunk in _chunks(rows):
        db.execute(update(model), chunk)


def task_counter(db: Session, user_id: uuid.UUID) -> int:
    """The highest task number the user was ever given."""
    return db.scalar(select(User.last_task_number).where(User.id == user_id)) or 0


def raise_task_counter(db: Session, user_id: uuid.UUID, number: int) -> None:
    """Move the user's task counter up to `number` (never down): an add goes on after it."""
    db.execute(
        update(User)
        .where(User.id == user_id, User.last_task_number < number)
        .values(last_task_number=number),
        execution_options={"synchronize_session": False},
    )


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]
