"""Migration m002, frozen: due dates and priority, never-reused task numbers, the change log.

Written as DDL of its own (not from the models) so it means the same on every database it
ever meets. An m001 database keeps its rows; each user's counter starts at their highest
task number (numbers deleted before m002 cannot be known).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    text,
)
from sqlalchemy.engine import Connection

from todochat.db import schema_m001

Stamp = DateTime(timezone=True)
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def _task_changes(metadata: MetaData) -> Table:
    return Table(
        "task_changes",
        metadata,
        Column("id", BigIntId, primary_key=True, autoincrement=True),
        Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        Column("task_id", Uuid, nullable=False),
        Column("task_number", Integer, nullable=False),
        Column("action", String(16), nullable=False),
        Column("before", JSON),
        Column("after", JSON),
        Column("conversation_id", Uuid, ForeignKey("conversations.id", ondelete="SET NULL")),
        Column("message_id", BigIntId, ForeignKey("messages.id", ondelete="SET NULL")),
        Column("reverts_id", BigIntId),
        Column("undone_at", Stamp),
        Column("created_at", Stamp, nullable=False),
        Index("ix_task_changes_conversation", "conversation_id", "id"),
        Index("ix_task_changes_task", "task_id", "id"),
        Index("ix_task_changes_message", "message_id"),
    )


def apply(conn: Connection) -> None:
    """Add the columns, start the counters, create the change log."""
    _add_column(conn, "users", "last_task_number", Integer(), "NOT NULL DEFAULT 0")
    conn.execute(
        text(
            "UPDATE users SET last_task_number = COALESCE("
            "(SELECT MAX(number) FROM tasks WHERE tasks.user_id = users.id), 0)"
        )
    )
    _add_column(conn, "tasks", "due_on", Date())
    _add_column(conn, "tasks", "due_at", Stamp)
    _add_column(conn, "tasks", "priority", String(8))
    conn.execute(text("CREATE INDEX ix_tasks_user_due ON tasks (user_id, due_on)"))
    metadata = MetaData()
    for table in schema_m001.metadata.tables.values():
        table.to_metadata(metadata)  # the tables the change log refers to
    _task_changes(metadata).create(conn)


def _add_column(conn: Connection, table: str, name: str, type_, extra: str = "") -> None:
    ddl = f"ALTER TABLE {table} ADD COLUMN {name} {type_.compile(dialect=conn.dialect)} {extra}"
    conn.execute(text(ddl.strip()))
