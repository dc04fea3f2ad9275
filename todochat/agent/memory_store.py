"""All SQL on the agent-memory file (the SDK's `agent_sessions` and `agent_messages` tables).

The SDK owns the schema; we add indexes, pruning, statistics, repair and expiry. SQLite leaves
foreign keys off, so `ON DELETE CASCADE` never fires: messages and their session row are deleted
together, explicitly. `CURRENT_TIMESTAMP` is UTC text with one-second resolution, so times are
compared in SQL and rows are ordered by id. Every read-then-write takes `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

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

# A row is corrupt when it is not JSON or is JSON but no object (`42`, `"x"`, `[]`): the SDK
# skips the first kind but hands the second to the model. SQLite's JSON functions decide the
# common case at C speed; Python's own decoder (the SDK's) has the last word on the rest.
CORRUPT = (
    "(CASE WHEN json_valid(message_data) THEN json_type(message_data) <> 'object' "
    "ELSE NOT todochat_item_ok(message_data) END)"
)
# A session idle since before `datetime(now, '-N days')`; `now` is 'now' outside tests.
STALE = "updated_at < datetime(?, ?)"
# A message whose session row is gone.
ORPHAN = f"NOT EXISTS (SELECT 1 FROM {SESSIONS} s WHERE s.session_id = {MESSAGES}.session_id)"


# --- connections and schema ----------------------------------------------------------------


def connect(db_path: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are explicit (`BEGIN IMMEDIATE`).

    A read-only connection never creates the file; it fails instead.
    """
    if readonly:
        uri = f"file:{quote(str(Path(db_path).absolute()))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # With WAL, NORMAL never corrupts the file and spares an fsync per commit, which keeps
    # each write lock short; at worst a power cut loses the last deletions of a cache.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.create_function("todochat_item_ok", 1, _item_ok, deterministic=True)
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


def index_names(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {name for (name,) in rows}


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


# --- items ----------------------------------------------------------------------------------


def decode_item(message_data: Any) -> dict[str, Any] | None:
    """The stored item, or None when it is corrupt (invalid JSON, or JSON that is no object)."""
    try:
        item = json.loads(message_data)
    except (TypeError, ValueError, RecursionError):
        return None
    return item if isinstance(item, dict) else None


def _item_ok(message_data: Any) -> bool:
    return decode_item(message_data) is not None


def is_turn_start(item: dict[str, Any] | None) -> bool:
    """A user message begins a turn; nothing that belongs to a turn may be cut from it."""
    return (
        item is not None and item.get("role") == "user" and item.get("type", "message") == "message"
    )


def item_kind(item: dict[str, Any] | None) -> str:
    """user, assistant, tool_call, tool_output, other, or corrupt_items."""
    if item is None:
        return "corrupt_items"
    kind = str(item.get("type", "message"))
    if kind == "message":
        return {"user": "user", "assistant": "assistant"}.get(item.get("role"), "other")
    if kind.endswith("_call_output"):
        return "tool_output"
    if kind.endswith("_call"):
        return "tool_call"
    return "other"


def parse_sqlite_time(value: str | None) -> datetime | None:
    """SQLite's `CURRENT_TIMESTAMP` text (UTC, whole seconds) as an aware datetime."""
    if not value:
        return None
    return datetime.strptime(str(value)[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def _placeholders(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


# --- pruning: one routine for the chat turn and the admin command ----------------------------


def prune_session(conn: sqlite3.Connection, session_id: str, max_items: int) -> int:
    """Keep at most the newest `max_items` items, cut at a turn start; return how many went.

    The cut is the first user message at or after the `max_items`-th newest item, so a tool
    output never loses its call and a reasoning item never loses what follows it. A single
    turn longer than the limit is kept whole. The reads walk the kept items' index entries
    and the delete touches only what goes, so cost does not grow with what was deleted before.
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
        return _delete_before(conn, session_id, cut)


def _delete_before(conn: sqlite3.Connection, session_id: str, cut: int) -> int:
    return conn.execute(
        f"DELETE FROM {MESSAGES} WHERE session_id = ? AND id < ?", (session_id, cut)
    ).rowcount


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


# --- statistics -------------------------------------------------------------------------------


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


def session_stats(conn: sqlite3.Connection, session_id: str) -> dict[str, Any]:
    """Counts by kind, bytes and times of one session (zeros and None when unknown)."""
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


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    created_at: datetime | None
    last_activity: datetime | None
    items: int


def list_sessions(conn: sqlite3.Connection, prefix: str = "") -> list[SessionRow]:
    """Sessions whose id starts with `prefix`, most recently active first.

    `substr` rather than LIKE: `_` in `user_…_conv_` is a LIKE wildcard.
    """
    rows = conn.execute(
        f"""SELECT s.session_id, s.created_at, s.updated_at,
                   (SELECT count(*) FROM {MESSAGES} m WHERE m.session_id = s.session_id)
            FROM {SESSIONS} s WHERE substr(s.session_id, 1, length(?1)) = ?1
            ORDER BY s.updated_at DESC, s.session_id""",
        (prefix,),
    )
    return [
        SessionRow(sid, parse_sqlite_time(created), parse_sqlite_time(updated), n)
        for sid, created, updated, n in rows
    ]


def active_session_count(conn: sqlite3.Connection, retention_days: int, now: str = "now") -> int:
    """Sessions written to within the retention window."""
    return conn.execute(
        f"SELECT count(*) FROM {SESSIONS} WHERE NOT ({STALE})", (now, f"-{retention_days} days")
    ).fetchone()[0]


def average_items_per_session(conn: sqlite3.Connection) -> float:
    sessions = conn.execute(f"SELECT count(*) FROM {SESSIONS}").fetchone()[0]
    items = conn.execute(f"SELECT count(*) FROM {MESSAGES}").fetchone()[0]
    return items / sessions if sessions else 0.0


def totals(
    conn: sqlite3.Connection,
    retention_days: int,
    largest: int = 5,
    now: str = "now",
    prefix: str = "",
) -> dict[str, Any]:
    """File-wide figures for `sessions stats` and monitoring.

    The counts cover the whole file; `largest_sessions` only sessions whose id starts with
    `prefix` (every session when it is empty).
    """
    cutoff = (now, f"-{retention_days} days")
    sessions, due = conn.execute(
        f"SELECT count(*), coalesce(sum({STALE}), 0) FROM {SESSIONS}", cutoff
    ).fetchone()
    items, size, corrupt = conn.execute(
        f"SELECT count(*), coalesce(sum(length(CAST(message_data AS BLOB))), 0), "
        f"coalesce(sum({CORRUPT}), 0) FROM {MESSAGES}"
    ).fetchone()
    return {
        "sessions": sessions,
        "active_sessions": sessions - due,
        "items": items,
        "item_bytes": size,
        "average_items_per_session": items / sessions if sessions else 0.0,
        "sessions_due_for_cleanup": due,
        "corrupt_items": corrupt,
        "orphan_items": conn.execute(f"SELECT count(*) FROM {MESSAGES} WHERE {ORPHAN}").fetchone()[
            0
        ],
        "largest_sessions": largest_sessions(conn, largest, prefix),
    }


def largest_sessions(conn: sqlite3.Connection, limit: int, prefix: str = "") -> list[SessionRow]:
    """The sessions holding the most items among those whose id starts with `prefix`.

    The count reads the index only; the times come from the session row (None for orphans).
    """
    rows = conn.execute(
        f"""SELECT m.session_id, s.created_at, s.updated_at, m.n
            FROM (SELECT session_id, count(*) AS n FROM {MESSAGES}
                  WHERE substr(session_id, 1, length(?1)) = ?1
                  GROUP BY session_id ORDER BY n DESC, session_id LIMIT ?2) m
            LEFT JOIN {SESSIONS} s ON s.session_id = m.session_id
            ORDER BY m.n DESC, m.session_id""",
        (prefix, limit),
    )
    return [
        SessionRow(sid, parse_sqlite_time(created), parse_sqlite_time(updated), n)
        for sid, created, updated, n in rows
    ]


# --- deleting -------------------------------------------------------------------------------


def delete_session(conn: sqlite3.Connection, session_id: str) -> int:
    """Delete a session's messages and its row together (foreign keys are off in SQLite)."""
    with immediate(conn):
        return _delete_sessions(conn, [session_id])


def _delete_sessions(conn: sqlite3.Connection, session_ids: Sequence[str]) -> int:
    marks = _placeholders(session_ids)
    deleted = conn.execute(
        f"DELETE FROM {MESSAGES} WHERE session_id IN ({marks})", tuple(session_ids)
    ).rowcount
    conn.execute(f"DELETE FROM {SESSIONS} WHERE session_id IN ({marks})", tuple(session_ids))
    return deleted


def corrupt_item_ids(conn: sqlite3.Connection, session_id: str | None = None) -> list[int]:
    """Ids of corrupt rows, in one session (via its index) or in the whole file."""
    if session_id is None:
        rows = conn.execute(f"SELECT id FROM {MESSAGES} WHERE {CORRUPT} ORDER BY id")
    else:
        rows = conn.execute(
            f"SELECT id FROM {MESSAGES} WHERE session_id = ? AND {CORRUPT} ORDER BY id",
            (session_id,),
        )
    return [row_id for (row_id,) in rows]


def delete_corrupt_items(conn: sqlite3.Connection, ids: Sequence[int]) -> int:
    """Delete those of `ids` that are still corrupt (the scan ran outside the write lock)."""
    deleted = 0
    for start in range(0, len(ids), 500):
        chunk = tuple(ids[start : start + 500])
        with immediate(conn):
            deleted += conn.execute(
                f"DELETE FROM {MESSAGES} WHERE id IN ({_placeholders(chunk)}) AND {CORRUPT}",
                chunk,
            ).rowcount
    return deleted


def remove_corrupt_items(conn: sqlite3.Connection, session_id: str | None = None) -> int:
    """Find and delete corrupt rows; the write lock is taken only when there are some."""
    ids = corrupt_item_ids(conn, session_id)
    return delete_corrupt_items(conn, ids) if ids else 0


def probe(conn: sqlite3.Connection, session_id: str | None = None) -> None:
    """Read the schema, the first page of items and a session's rows; raises if unreadable."""
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    conn.execute(f"SELECT 1 FROM {MESSAGES} LIMIT 1").fetchall()
    if session_id is not None:
        conn.execute(
            f"SELECT length(message_data) FROM {MESSAGES} WHERE session_id = ?", (session_id,)
        ).fetchall()


def quick_check(conn: sqlite3.Connection) -> list[str]:
    """SQLite's `PRAGMA quick_check`: `["ok"]` for a sound file, else what it found."""
    return [line for (line,) in conn.execute("PRAGMA quick_check")]


# --- expiry in short transactions -------------------------------------------------------------


@dataclass
class BatchResult:
    """What one short write transaction of a cleanup did, and how long it held the lock."""

    sessions: int = 0
    items: int = 0
    kept: int = 0
    held_seconds: float = 0.0


def stale_sessions(
    conn: sqlite3.Connection, retention_days: int, limit: int | None, now: str = "now"
) -> list[tuple[str, int]]:
    """(session id, items) of sessions idle longer than `retention_days`, oldest first.

    A plain read: no lock is taken, so each batch checks staleness again under its own.
    """
    rows = conn.execute(
        f"SELECT s.session_id, (SELECT count(*) FROM {MESSAGES} m "
        f"WHERE m.session_id = s.session_id) FROM {SESSIONS} s WHERE {STALE} "
        "ORDER BY s.updated_at, s.session_id LIMIT ?",
        (now, f"-{retention_days} days", -1 if limit is None else limit),
    )
    return [(sid, n) for sid, n in rows]


def stale_session_ids(
    conn: sqlite3.Connection, retention_days: int, limit: int | None, now: str = "now"
) -> list[str]:
    return [sid for sid, _ in stale_sessions(conn, retention_days, limit, now)]


def stale_item_count(conn: sqlite3.Connection, retention_days: int, now: str = "now") -> int:
    return conn.execute(
        f"SELECT count(*) FROM {MESSAGES} WHERE session_id IN "
        f"(SELECT session_id FROM {SESSIONS} WHERE {STALE})",
        (now, f"-{retention_days} days"),
    ).fetchone()[0]


def expire_batch(
    conn: sqlite3.Connection, session_ids: Sequence[str], retention_days: int, now: str = "now"
) -> BatchResult:
    """Delete these sessions and their items in one write transaction, if still stale.

    The staleness test is repeated under the lock: a session written to since it was
    selected is kept. Callers size the batch (by item count) to keep the lock brief.
    """
    with immediate(conn):
        locked_at = time.perf_counter()
        stale = [
            sid
            for (sid,) in conn.execute(
                f"SELECT session_id FROM {SESSIONS} "
                f"WHERE session_id IN ({_placeholders(session_ids)}) AND {STALE}",
                (*session_ids, now, f"-{retention_days} days"),
            )
        ]
        items = _delete_sessions(conn, stale) if stale else 0
    held = time.perf_counter() - locked_at
    return BatchResult(len(stale), items, len(session_ids) - len(stale), held)


def trim_stale_session(
    conn: sqlite3.Connection,
    session_id: str,
    retention_days: int,
    max_items: int,
    now: str = "now",
) -> BatchResult:
    """Delete about `max_items` of the oldest items of a stale session too big for one batch.

    The cut falls before a turn start, so should a turn arrive before the rest goes, what
    it finds still begins with a whole turn.
    """
    with immediate(conn):
        locked_at = time.perf_counter()
        if not _is_stale(conn, session_id, (now, f"-{retention_days} days")):
            return BatchResult(kept=1, held_seconds=time.perf_counter() - locked_at)
        boundary = conn.execute(
            f"SELECT id FROM {MESSAGES} WHERE session_id = ? ORDER BY id LIMIT 1 OFFSET ?",
            (session_id, max_items),
        ).fetchone()
        cut = _first_turn_start_from(conn, session_id, boundary[0]) if boundary else None
        # No later turn start: the rest is one endless turn, and all of it goes.
        items = _delete_before(conn, session_id, cut if cut is not None else 2**63 - 1)
    return BatchResult(items=items, held_seconds=time.perf_counter() - locked_at)


def _is_stale(conn: sqlite3.Connection, session_id: str, cutoff: tuple[str, str]) -> bool:
    row = conn.execute(
        f"SELECT 1 FROM {SESSIONS} WHERE session_id = ? AND {STALE}", (session_id, *cutoff)
    ).fetchone()
    return row is not None


def orphan_item_ids(conn: sqlite3.Connection, limit: int | None = 1000) -> list[int]:
    """Messages whose session row is gone (left by a tool that honoured no cascade)."""
    rows = conn.execute(
        f"SELECT id FROM {MESSAGES} WHERE {ORPHAN} ORDER BY id LIMIT ?",
        (-1 if limit is None else limit,),
    )
    return [row_id for (row_id,) in rows]


def delete_orphans(conn: sqlite3.Connection, ids: Sequence[int]) -> int:
    """Delete those of `ids` that are still orphans, in one short transaction."""
    with immediate(conn):
        return conn.execute(
            f"DELETE FROM {MESSAGES} WHERE id IN ({_placeholders(ids)}) AND {ORPHAN}",
            tuple(ids),
        ).rowcount


# --- keeping the file small -------------------------------------------------------------------


def auto_vacuum_mode(conn: sqlite3.Connection) -> str:
    return {0: "none", 1: "full", 2: "incremental"}.get(
        conn.execute("PRAGMA auto_vacuum").fetchone()[0], "unknown"
    )


def free_pages(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA freelist_count").fetchone()[0]


def release_free_pages(conn: sqlite3.Connection, pages: int = 256) -> int:
    """Return up to `pages` free pages to the OS in one short transaction; how many went.

    Only files in incremental auto-vacuum mode can do this; others need a full VACUUM.
    `executescript` steps the pragma to completion (`execute` frees a single page).
    """
    if auto_vacuum_mode(conn) != "incremental":
        return 0
    before = free_pages(conn)
    if before:
        conn.executescript(f"PRAGMA incremental_vacuum({int(pages)});")
    return before - free_pages(conn)


def checkpoint_truncate(conn: sqlite3.Connection) -> bool:
    """Copy the WAL into the file and truncate it; False when a reader kept it busy."""
    row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return row is None or row[0] == 0


def vacuum(conn: sqlite3.Connection) -> None:
    """Rebuild the file; an older file becomes incremental auto-vacuum on the way."""
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("VACUUM")


def touch_session(conn: sqlite3.Connection, session_id: str) -> None:
    """Mark a session active now, so a cleanup running meanwhile keeps it (it re-checks)."""
    conn.execute(
        f"UPDATE {SESSIONS} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?", (session_id,)
    )
