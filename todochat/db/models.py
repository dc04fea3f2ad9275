"""Schema of the app database. Timestamps are timezone-aware UTC on every backend."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns an aware datetime (SQLite drops the zone on the way back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None


# SQLite only autoincrements an INTEGER PRIMARY KEY, PostgreSQL wants a BIGINT identity.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The highest task number ever given to this user: numbers are never reused (m002).
    last_task_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_user_updated", "user_id", "updated_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by an explicit clear of agent memory: a rebuild from the log starts after message
    # `memory_reset_id` (the conversation's newest then; m010), ids being the log's order
    # whatever the writers' clocks. `memory_reset_at` names the clear (memory compares it).
    memory_reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    memory_reset_id: Mapped[int | None] = mapped_column(BigIntId, default=None)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        # Agent memory asks "which replies after message N?" before every turn (m004).
        Index("ix_messages_conversation_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The user message an assistant message answers (m004). Turns of two terminals or
    # machines can interleave in the log; pairs are made by this, never by position. No
    # foreign key: a question and its reply live and die with their conversation.
    reply_to: Mapped[int | None] = mapped_column(BigIntId, default=None)
    # The conversation's owner, copied (m006): PostgreSQL's search index holds it (see
    # log/search.py). A conversation never changes owner, so the copy cannot go stale.
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("user_id", "number", name="uq_tasks_user_number"),
        Index("ix_tasks_user_due", "user_id", "due_on"),
        Index("ix_tasks_user_list", "user_id", "list_name"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    notes: Mapped[str] = mapped_column(Text, default="")
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The day it is due in the user's calendar; `due_at` is the exact moment when a time was
    # given (m002).
    due_on: Mapped[date | None] = mapped_column(Date, default=None)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    priority: Mapped[str | None] = mapped_column(String(8), default=None)
    # The list it belongs to ("shopping"), None for the default list (m007).
    list_name: Mapped[str | None] = mapped_column(String(100), default=None)


# The instructions' order of open tasks (`tasks.pressing_open_tasks`), so listing them reads
# the first rows of this index however many the user has (m005).
Index(
    "ix_tasks_user_pressing",
    Task.user_id,
    Task.done,
    Task.due_on.is_(None),
    Task.due_on,
    Task.due_at.is_(None),
    Task.due_at,
    Task.updated_at.desc(),
    Task.number,
)


class TaskChange(Base):
    """One change a tool made to a task, with the fields before and after it (m002).

    An undo is a change too: it names the change it reverts, which is then marked undone.
    """

    __tablename__ = "task_changes"
    __table_args__ = (
        Index("ix_task_changes_conversation", "conversation_id", "id"),
        Index("ix_task_changes_task", "task_id", "id"),
        Index("ix_task_changes_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    task_id: Mapped[uuid.UUID] = mapped_column()  # no foreign key: a deleted task keeps its log
    task_number: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), default=None
    )
    message_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    reverts_id: Mapped[int | None] = mapped_column(BigIntId, default=None)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A bearer token of `todochat serve` (m008): only its SHA-256 is kept, never the token.

    `operator` tokens may also read `/metrics`; a revoked token stays listed, marked.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_hash", "token_hash", unique=True),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100), default="")
    operator: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
