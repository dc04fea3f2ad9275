"""Queries on messages: the durable log of every conversation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from todochat.db.models import Message

USER = "user"
ASSISTANT = "assistant"


def add_message(session: Session, conversation_id: uuid.UUID, role: str, content: str) -> Message:
    if role not in (USER, ASSISTANT):
        raise ValueError(f"unknown role {role!r}")
    message = Message(conversation_id=conversation_id, role=role, content=content)
    session.add(message)
    session.flush()
    return message


# What a reader of the log needs of a message. Plain rows, not ORM objects: building an
# object per message made `history` of a long conversation many times a bare query.
MESSAGE_COLUMNS = (
    Message.id,
    Message.role,
    Message.content,
    Message.created_at,
)


def list_messages(
    session: Session, conversation_id: uuid.UUID, since: datetime | None = None
) -> list[Row]:
    """The conversation's messages in the order they were written (rows with the
    attributes id, role, content, created_at)."""
    query = select(*MESSAGE_COLUMNS).where(Message.conversation_id == conversation_id)
    if since is not None:
        query = query.where(Message.created_at > since)
    return list(session.execute(query.order_by(Message.created_at, Message.id)))
