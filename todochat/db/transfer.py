"""Reading a user's whole log for export, and writing an export back without duplicates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Row, func, insert, select, text
from sqlalchemy.orm import Session

from todochat.db.messages import MESSAGE_COLUMNS
from todochat.db.models import Conversation, Message, Task, User

BATCH = 2000


def users_by_name(session: Session, names: list[str] | None) -> list[User]:
    """These users (None: everyone), by name."""
    query = select(User).order_by(User.name)
    if names is not None:
        query = query.where(User.name.in_(names))
    return list(session.scalars(query))


def conversations_of(
    session: Session, user_id: uuid.UUID, ids: list[uuid.UUID] | None
) -> list[Conversation]:
    """The user's conversations (None: all), oldest first."""
    query = select(Conversation).where(Conversation.user_id == user_id)
    if ids is not None:
        query = query.where(Conversation.id.in_(ids))
    return list(session.scalars(query.order_by(Conversation.created_at, Conversation.id)))


def messages_of(session: Session, conversation_ids: list[uuid.UUID]) -> Iterator[Row]:
    """The messages of these conversations (rows), by conversation then in logged order."""
    for start in range(0, len(conversation_ids), BATCH):
        chunk = conversation_ids[start : start + BATCH]
        query = (
            select(*MESSAGE_COLUMNS)
            .where(Message.conversation_id.in_(chunk))
            .order_by(Message.conversation_id, Message.id)  # ids, not the writers' clocks
        )
        yield from session.execute(query)


def tasks_of(session: Session, user_id: uuid.UUID) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.user_id == user_id).order_by(Task.number)))


def conversation_owners(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Which user owns each of these conversations (absent: no such conversation)."""
    owners: dict[uuid.UUID, uuid.UUID] = {}
    for start in range(0, len(ids), BATCH):
        query = select(Conversation.id, Conversation.user_id).where(
            Conversation.id.in_(ids[start : start + BATCH])
        )
        owners.update({row[0]: row[1] for row in session.execute(query)})
    return owners


def message_homes(session: Session, ids: list[int]) -> dict[int, uuid.UUID]:
    """The conversation each of these message ids belongs to (absent: a free id)."""
    homes: dict[int, uuid.UUID] = {}
    for start in range(0, len(ids), BATCH):
        query = select(Message.id, Message.conversation_id).where(
            Message.id.in_(ids[start : start + BATCH])
        )
        homes.update({row[0]: row[1] for row in session.execute(query)})
    return homes


def existing_tasks(session: Session, user_id: uuid.UUID) -> tuple[set[uuid.UUID], set[int]]:
    """The ids and numbers of the user's tasks."""
    rows = session.execute(select(Task.id, Task.number).where(Task.user_id == user_id)).all()
    return {r[0] for r in rows}, {r[1] for r in rows}


def other_task_ids(session: Session, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these task ids exist (whoever owns them)."""
    return set(session.scalars(select(Task.id).where(Task.id.in_(ids)))) if ids else set()


def insert_rows(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert rows as given (ids and times kept), in batches."""
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])


def highest_task_number(session: Session, user_id: uuid.UUID) -> int:
    return session.scalar(select(func.max(Task.number)).where(Task.user_id == user_id)) or 0


def sync_message_ids(session: Session) -> None:
    """After inserting explicit message ids, move PostgreSQL's id sequence past them (SQLite
    takes the next id from the table itself)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('messages', 'id'),"
            " GREATEST((SELECT max(id) FROM messages), 1),"
            " (SELECT max(id) FROM messages) IS NOT NULL)"
        )
    )
