"""All SQL on the agent-memory file (the SDK's `agent_sessions` and `agent_messages` tables).

The SDK owns the schema; we add indexes, pruning, statistics and expiry. SQLite leaves foreign
keys off, so `ON DELETE CASCADE` never fires: messages and their session row are deleted
together, explicitly. `CURRENT_TIMESTAMP` is UTC text with one-second resolution, so times are
compared in SQL and rows are ordered by id.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

SESSIONS = "agent_sessions"
MESSAGES = "agent_messages"

# Same DDL as the SDK's SQLiteSession, so either side may create the file first.
SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {SESSIONS} (
        session_id TEXT PRIMARY KEY,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    )""",
    f"""CREATE TABLE IF NOT EXISTS {MESSAGES} (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        message_data TEXT NOT NULL,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (session_id) REFERENCES {SESSIONS} (session_id)
            ON DELETE CASCADE
    )""",
    f"CREATE INDEX IF NOT EXISTS idx_{MESSAGES}_session_id ON {MESSAGES} (session_id, id)",
)
# The spec's indexes (Index Optimization).
INDEXES = (
    f"CREATE INDEX IF NOT EXISTS ix_agent_sessions_updated ON {SESSIONS}(updated_at)",
    f"CREATE INDEX IF NOT EXISTS ix_agent_messages_session_created "
    f"ON {MESSAGES}(session_id, created_at)",
)

BUSY_TIMEOUT_MS = 5000


def connect(db_path: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are explicit (`BEGIN IMMEDIATE`)."""
    if readonly:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def initialize_new_file(db_path: str) -> None:
    """Give a new, empty file incremental auto-vacuum, WAL, the SDK schema and our indexes."""
    with closing(connect(db_path)) as conn:
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        ensure_schema(conn)


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the tables (if the SDK has not yet) and the spec's indexes; idempotent."""
    for statement in SCHEMA + INDEXES:
        conn.execute(statement)


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read-then-write transaction that takes the write lock up front."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def decode_item(message_data: Any) -> dict[str, Any] | None:
    """The stored item, or None when it is corrupt (invalid JSON, or JSON that is no object)."""
    try:
        item = json.loads(message_data)
    except (TypeError, ValueError):
        return None
    return item if isinstance(item, dict) else None


def is_turn_start(item: dict[str, Any] | None) -> bool:
    """A user message begins a turn; nothing that belongs to a turn may be cut from it."""
    return (
        item is not None and item.get("role") == "user" and item.get("type", "message") == "message"
    )


def prune_session(conn: sqlite3.Connection, session_id: str, max_items: int) -> int:
    """Keep at most the newest `max_items` items, cut at a turn start; return how many went.

    The cut is the first user message at or after the `max_items`-th newest item, so a tool
    output never loses its call and a reasoning item never loses what follows it. A single
    turn longer than the limit is kept whole. Cost follows what is deleted, not session size.
    """
    with immediate(conn):
        boundary = conn.execute(
            f"SELECT id FROM {MESSAGES} WHERE session_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
            (session_id, max_items - 1),
        ).fetchone()
        if boundary is None:
            return 0
        cut = _first_turn_start_from(conn, session_id, boundary[0])
        if cut is None:
            cut = _last_turn_start_before(conn, session_id, boundary[0])
        if cut is None:
            return 0
        deleted = conn.execute(
            f"DELETE FROM {MESSAGES} WHERE session_id = ? AND id < ?", (session_id, cut)
        ).rowcount
    return deleted


def _first_turn_start_from(conn: sqlite3.Connection, session_id: str, from_id: int) -> int | None:
    rows = conn.execute(
        f"SELECT id, message_data FROM {MESSAGES} WHERE session_id = ? AND id >= ? ORDER BY id",
        (session_id, from_id),
    )
    for row_id, data in rows:
        if is_turn_start(decode_item(data)):
            return row_id
    return None


def _last_turn_start_before(
    conn: sqlite3.Connection, session_id: str, before_id: int
) -> int | None:
    # Only reached when the newest turn alone is longer than the limit: keep that turn whole.
    rows = conn.execute(
        f"SELECT id, message_data FROM {MESSAGES} WHERE session_id = ? AND id < ? ORDER BY id DESC",
        (session_id, before_id),
    )
    for row_id, data in rows:
        if is_turn_start(decode_item(data)):
            return row_id
    return None


def empty_session_stats() -> dict[str, Any]:
    return {
        "message_count": 0,
        "last_activity": None,
        "created_at": None,
        "bytes": 0,
        "user": 0,
        "assistant": 0,
        "tool_call": 0,
        "tool_output": 0,
        "other": 0,
        "corrupt_items": 0,
    }


def item_kind(item: dict[str, Any] | None) -> str:
    """user, assistant, tool_call, tool_output, other, or corrupt."""
    if item is None:
        return "corrupt_items"
    kind = item.get("type", "message")
    if kind == "message":
        return {"user": "user", "assistant": "assistant"}.get(item.get("role"), "other")
    if kind.endswith("_call_output") or kind == "function_call_output":
        return "tool_output"
    if kind.endswith("_call"):
        return "tool_call"
    return "other"


def session_stats(conn: sqlite3.Connection, session_id: str) -> dict[str, Any]:
    from todochat.agent.session_manager import parse_sqlite_time

    stats = empty_session_stats()
    row = conn.execute(
        f"SELECT created_at, updated_at FROM {SESSIONS} WHERE session_id = ?", (session_id,)
    ).fetchone()
    rows = conn.execute(
        f"SELECT message_data FROM {MESSAGES} WHERE session_id = ? ORDER BY id", (session_id,)
    )
    for (data,) in rows:
        stats["message_count"] += 1
        stats["bytes"] += len(data.encode() if isinstance(data, str) else data or b"")
        stats[item_kind(decode_item(data))] += 1
    if row is not None:
        stats["created_at"] = parse_sqlite_time(row[0])
        stats["last_activity"] = parse_sqlite_time(row[1])
    return stats


def delete_session(conn: sqlite3.Connection, session_id: str) -> int:
    """Delete a session's messages and its row together (foreign keys are off in SQLite)."""
    with immediate(conn):
        deleted = conn.execute(
            f"DELETE FROM {MESSAGES} WHERE session_id = ?", (session_id,)
        ).rowcount
        conn.execute(f"DELETE FROM {SESSIONS} WHERE session_id = ?", (session_id,))
    return deleted


def active_session_count(conn: sqlite3.Connection, retention_days: int) -> int:
    return conn.execute(
        f"SELECT count(*) FROM {SESSIONS} WHERE updated_at >= datetime('now', ?)",
        (f"-{retention_days} days",),
    ).fetchone()[0]


def average_items_per_session(conn: sqlite3.Connection) -> float:
    sessions = conn.execute(f"SELECT count(*) FROM {SESSIONS}").fetchone()[0]
    items = conn.execute(f"SELECT count(*) FROM {MESSAGES}").fetchone()[0]
    return items / sessions if sessions else 0.0


class ExpiryResult:
    def __init__(self, sessions: int = 0, items: int = 0):
        self.sessions = sessions
        self.items = items


def expire_sessions(conn: sqlite3.Connection, retention_days: int) -> ExpiryResult:
    """Delete sessions idle longer than `retention_days` (simple form; batched in issue 3)."""
    cutoff = f"-{retention_days} days"
    result = ExpiryResult()
    with immediate(conn):
        ids = [
            r[0]
            for r in conn.execute(
                f"SELECT session_id FROM {SESSIONS} WHERE updated_at < datetime('now', ?)",
                (cutoff,),
            )
        ]
        for session_id in ids:
            result.items += conn.execute(
                f"DELETE FROM {MESSAGES} WHERE session_id = ?", (session_id,)
            ).rowcount
            conn.execute(f"DELETE FROM {SESSIONS} WHERE session_id = ?", (session_id,))
        result.sessions = len(ids)
    return result
