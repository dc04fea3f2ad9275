"""Queries on messages: the durable log of every conversation."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache

from sqlalchemy import Integer, Row, and_, bindparam, func, insert, select
from sqlalchemy.orm import Session, aliased

from todochat.db import clock
from todochat.db.models import Conversation, Message

USER = "user"
ASSISTANT = "assistant"


def add_message(
    db: Session,
    conversation_id: uuid.UUID,
    role: str,
    content: str,
    reply_to: int | None = None,
) -> Message:
    """Log one message; an assistant message names the user message it answers.

    Its owner is copied from the conversation inside the INSERT (search reads it, m006), so
    no caller can give a wrong one and none needs to know it.
    """
    if role not in (USER, ASSISTANT):
        raise ValueError(f"unknown role {role!r}")
    owner = select(Conversation.user_id).where(Conversation.id == conversation_id)
    values = {"conversation_id": conversation_id, "role": role, "content": content}
    values |= {"reply_to": reply_to, "created_at": clock.stamp(db)}
    values["user_id"] = owner.scalar_subquery()
    # RETURNING the whole row: the server's time comes back with the id, in one round trip.
    return db.scalars(insert(Message).values(values).returning(Message)).one()


# What a reader of the log needs of a message. Plain rows, not ORM objects: building an
# object per message made `history` of a long conversation many times a bare query.
MESSAGE_COLUMNS = (
    Message.id,
    Message.conversation_id,
    Message.role,
    Message.content,
    Message.created_at,
    Message.reply_to,
)


def list_messages(
    db: Session,
    conversation_id: uuid.UUID,
    since: datetime | None = None,
    newest: int | None = None,
    after_id: int | None = None,
    before: int | None = None,
) -> list[Row]:
    """The conversation's messages in the order they were written (rows with the
    attributes id, conversation_id, role, content, created_at, reply_to), after message
    `after_id`, before message `before` and after time `since` when given; only the
    `newest` so many when given, read backwards down the (conversation_id, id) index.

    Ordered by id: times come from the writers' clocks, which differ and step back.
    """
    query = select(*MESSAGE_COLUMNS).where(Message.conversation_id == conversation_id)
    if since is not None:
        query = query.where(Message.created_at > since)
    if after_id is not None:
        query = query.where(Message.id > after_id)
    if before is not None:
        query = query.where(Message.id < before)
    if newest is None:
        return list(db.execute(query.order_by(Message.id)))
    query = query.order_by(Message.id.desc()).limit(newest)
    return list(reversed(db.execute(query).all()))


def count_messages(db: Session, conversation_id: uuid.UUID, since: datetime | None = None) -> int:
    """How many messages the conversation has (after `since`), counted down its index."""
    query = select(func.count()).where(Message.conversation_id == conversation_id)
    if since is not None:
        query = query.where(Message.created_at > since)
    return db.scalar(query) or 0


def replies_after(
    db: Session, user_id: uuid.UUID, conversation_id: uuid.UUID, after_id: int, limit: int
) -> tuple[datetime | None, list[tuple[Message | None, Message]]] | None:
    """The conversation's reset mark and its newest `limit` replies with id > `after_id` (and
    after the mark's message), each with its question, oldest first; None if the
    conversation is gone.

    One query down the (conversation_id, id) index: cheap when nothing is new. A reply an
    earlier version logged (no `reply_to`) answers the user message before it.
    """
    params = {"user": user_id, "conversation": conversation_id, "after": after_id, "limit": limit}
    rows = db.execute(_replies_after_query(), params).all()
    if not rows:
        return None
    pairs = [(asked, answer) for _, answer, asked in reversed(rows) if answer is not None]
    return rows[0][0], pairs


@cache
def _replies_after_query():
    """Built once (with bound parameters), so each turn reuses the compiled statement."""
    reply, question, earlier = aliased(Message), aliased(Message), aliased(Message)
    legacy = (
        select(func.max(earlier.id))
        .where(earlier.conversation_id == reply.conversation_id, earlier.role == USER)
        .where(earlier.id < reply.id)
        .scalar_subquery()
    )
    newer = and_(
        reply.conversation_id == Conversation.id,
        reply.role == ASSISTANT,
        reply.id > bindparam("after"),
        reply.id > func.coalesce(Conversation.memory_reset_id, 0),
    )
    return (
        select(Conversation.memory_reset_at, reply, question)
        .outerjoin(reply, newer)
        .outerjoin(
            question,
            and_(
                question.id == func.coalesce(reply.reply_to, legacy),
                question.conversation_id == reply.conversation_id,
            ),
        )
        .where(Conversation.id == bindparam("conversation"))
        .where(Conversation.user_id == bindparam("user"))
        .order_by(reply.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )
