"""Named, ordered, recorded schema migrations for the app database (after llm's m001…).

Each migration runs once per database and is recorded in `schema_migrations`. On PostgreSQL
a transaction-scoped advisory lock serializes processes that start on a fresh database at
the same moment; SQLite serializes the DDL transaction itself.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Column, DateTime, MetaData, String, Table, func, insert, select, text
from sqlalchemy.engine import Connection

from todochat.db import schema_m001, schema_m002, schema_m008

MIGRATION_LOCK_KEY = 7_274_2023  # any constant; it names "todochat schema" to PostgreSQL

ledger_metadata = MetaData()
schema_migrations = Table(
    "schema_migrations",
    ledger_metadata,
    Column("name", String(100), primary_key=True),
    Column("applied_at", DateTime(timezone=True), server_default=func.now()),
)


def m001_initial(conn: Connection) -> None:
    """users, conversations, messages, tasks and their indexes (frozen: see schema_m001)."""
    schema_m001.metadata.create_all(conn)


def m002_tasks(conn: Connection) -> None:
    """Due dates, priority, never-reused task numbers and the change log (issue 10)."""
    schema_m002.apply(conn)


def m003_search(conn: Connection) -> None:
    """Full-text search of messages, indexing every message already in the log."""
    from todochat.log.search import create_search_index

    create_search_index(conn)


def m004_reply_to(conn: Connection) -> None:
    """messages.reply_to (the question a reply answers) and an index on (conversation, id).

    Replies logged before it are paired with the user message before them (all an earlier
    version could mean). The column check keeps it safe on a database that has it already.
    """
    if "reply_to" not in {c["name"] for c in conn.dialect.get_columns(conn, "messages")}:
        kind = "BIGINT" if conn.dialect.name == "postgresql" else "INTEGER"
        conn.exec_driver_sql(f"ALTER TABLE messages ADD COLUMN reply_to {kind}")
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_messages_conversation_id ON messages (conversation_id, id)"
    )
    conn.exec_driver_sql(
        "UPDATE messages SET reply_to = (SELECT max(q.id) FROM messages q "
        "WHERE q.conversation_id = messages.conversation_id AND q.role = 'user' "
        "AND q.id < messages.id) WHERE role = 'assistant' AND reply_to IS NULL"
    )


# The order the agent's instructions list open tasks in (`tasks.pressing_open_tasks`), as an
# index: overdue and due soonest (a time before a bare day), then undated ones most recently
# touched. The `IS NULL` terms put undated last on both backends (SQLite sorts NULL first).
PRESSING_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_tasks_user_pressing ON tasks (user_id, done, "
    "(due_on IS NULL), due_on, (due_at IS NULL), due_at, updated_at DESC, number)"
)


def m005_pressing_tasks(conn: Connection) -> None:
    """An index in the order of the instructions' task listing, so building it reads the
    first rows of the index rather than sorting every open task of the user (issue 14)."""
    conn.exec_driver_sql(PRESSING_INDEX)


def m006_message_owner(conn: Connection) -> None:
    """messages.user_id, the conversation's owner, filled for the log already there, and the
    search index that reads it (issue 18: the owner inside the index)."""
    from todochat.log.search import add_message_owner

    add_message_owner(conn)


def m007_task_lists(conn: Connection) -> None:
    """tasks.list_name: the named list a task belongs to ("shopping"), NULL for the default
    list. A column, not a lists table: a list exists while a task is on it, so there is no
    empty list to keep, rename or delete, and export, import and undo carry it as one more
    task field. The index serves a listing filtered by list."""
    if "list_name" not in {c["name"] for c in conn.dialect.get_columns(conn, "tasks")}:
        conn.exec_driver_sql("ALTER TABLE tasks ADD COLUMN list_name VARCHAR(100)")
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_tasks_user_list ON tasks (user_id, list_name)"
    )


def m008_api_tokens(conn: Connection) -> None:
    """Bearer tokens of `todochat serve`, stored as hashes (issue 20; frozen: see schema_m008)."""
    schema_m008.apply(conn)


def m010_reset_by_id(conn: Connection) -> None:
    """conversations.memory_reset_id: a clear of agent memory is marked by the conversation's
    newest message id, not by a time (machines' clocks differ; issue 21). A clear made before
    it is marked by the newest message logged by then, all its time can tell.
    """
    if "memory_reset_id" not in {
        c["name"] for c in conn.dialect.get_columns(conn, "conversations")
    }:
        kind = "BIGINT" if conn.dialect.name == "postgresql" else "INTEGER"
        conn.exec_driver_sql(f"ALTER TABLE conversations ADD COLUMN memory_reset_id {kind}")
    conn.exec_driver_sql(
        "UPDATE conversations SET memory_reset_id = (SELECT coalesce(max(m.id), 0) "
        "FROM messages m WHERE m.conversation_id = conversations.id "
        "AND m.created_at <= conversations.memory_reset_at) "
        "WHERE memory_reset_at IS NOT NULL AND memory_reset_id IS NULL"
    )


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("m001_initial", m001_initial),
    ("m002_tasks", m002_tasks),
    ("m003_search", m003_search),
    ("m004_reply_to", m004_reply_to),
    ("m005_pressing_tasks", m005_pressing_tasks),
    ("m006_message_owner", m006_message_owner),
    ("m007_task_lists", m007_task_lists),
    ("m008_api_tokens", m008_api_tokens),
    ("m010_reset_by_id", m010_reset_by_id),
]


def migrate(conn: Connection) -> list[str]:
    """Apply the migrations this database lacks, in order; return their names."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        # pysqlite runs DDL outside a transaction; take the write lock so checks and creates
        # of concurrent first runs cannot interleave.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    ledger_metadata.create_all(conn)
    done = set(conn.scalars(select(schema_migrations.c.name)))
    applied = []
    for name, apply in MIGRATIONS:
        if name not in done:
            apply(conn)
            conn.execute(insert(schema_migrations).values(name=name))
            applied.append(name)
    return applied
