"""The schema as migration m001 created it, frozen.

m001 used to call `Base.metadata.create_all`, so every later change to the models leaked into
m001 on a fresh database and then failed in the migration that adds it. These tables are
m001's DDL written out once; later migrations change the schema, never this file.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

metadata = MetaData()
Stamp = DateTime(timezone=True)
BigIntId = BigInteger().with_variant(Integer(), "sqlite")

Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", Stamp, nullable=False),
)
Table(
    "conversations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("updated_at", Stamp, nullable=False),
    Column("memory_reset_at", Stamp),
    Index("ix_conversations_user_updated", "user_id", "updated_at"),
)
Table(
    "messages",
    metadata,
    Column("id", BigIntId, primary_key=True, autoincrement=True),
    Column(
        "conversation_id",
        Uuid,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", Stamp, nullable=False),
    Index("ix_messages_conversation_created", "conversation_id", "created_at"),
)
Table(
    "tasks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", String(500), nullable=False),
    Column("notes", Text, nullable=False),
    Column("done", Boolean, nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("updated_at", Stamp, nullable=False),
    Column("completed_at", Stamp),
    UniqueConstraint("user_id", "number", name="uq_tasks_user_number"),
)
