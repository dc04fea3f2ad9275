"""Queries on messages: the durable log of every conversation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
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


def list_messages(
    session: Session, conversation_id: uuid.UUID, since: datetime | None = None
) -> list[Message]:
    """The conversation's messages in the order they were written."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if since is not None:
        query = query.where(Message.created_at > since)
    return list(session.scalars(query.order_by(Message.created_at, Message.id)))
