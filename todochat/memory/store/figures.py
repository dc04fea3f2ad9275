"""What the file holds: per-session statistics and file-wide totals."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from todochat.memory.store.items import orphan_item_count
from todochat.memory.store.monitoring import recorded_corrupt_items
from todochat.memory.store.schema import MESSAGES, SESSIONS, STALE
from todochat.memory.store.values import decode_item, item_kind, parse_sqlite_time


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
    items: int | None = None,
) -> dict[str, Any]:
    """File-wide figures for `sessions stats` and monitoring, without reading every row.

    `items`, when the caller counted them on another connection meanwhile (`item_count`,
    the longest of these reads), is taken as is.

    Counts come from indexes (the item count from SQLite's b-tree count, orphans from one
    seek per distinct session), sizes from the page counts; the corrupt-item count is the
    last recorded measurement and its time (None when never measured): see
    `measure_corrupt_items`. `largest_sessions` covers only sessions whose id starts with
    `prefix` (every session when it is empty; that one reads the whole index).
    """
    cutoff = (now, f"-{retention_days} days")
    sessions, due = conn.execute(
        f"SELECT count(*), coalesce(sum({STALE}), 0) FROM {SESSIONS}", cutoff
    ).fetchone()
    items = item_count(conn) if items is None else items
    page_size, pages, free = (
        conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("page_size", "page_count", "freelist_count")
    )
    corrupt, measured_at = recorded_corrupt_items(conn)
    return {
        "sessions": sessions,
        "active_sessions": sessions - due,
        "items": items,
        "used_bytes": (pages - free) * page_size,
        "free_bytes": free * page_size,
        "average_items_per_session": items / sessions if sessions else 0.0,
        "sessions_due_for_cleanup": due,
        "corrupt_items": corrupt,
        "corrupt_items_measured_at": measured_at,
        "orphan_items": orphan_item_count(conn),
        "largest_sessions": largest_sessions(conn, largest, prefix) if largest else [],
    }


def item_count(conn: sqlite3.Connection) -> int:
    """Items in the file: SQLite counts the entries of the smallest index, page by page."""
    return conn.execute(f"SELECT count(*) FROM {MESSAGES}").fetchone()[0]


def _prefix_range(prefix: str) -> tuple[str, tuple[str, ...]]:
    """A WHERE clause on `session_id` for ids starting with `prefix` that an index can seek.

    Text compares bytewise (UTF-8 keeps code-point order), so every id starting with
    `prefix` lies in [prefix, prefix with its last character incremented).
    """
    if not prefix:
        return "1", ()
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return "session_id >= ? AND session_id < ?", (prefix, upper)


def largest_sessions(conn: sqlite3.Connection, limit: int, prefix: str = "") -> list[SessionRow]:
    """The sessions holding the most items among those whose id starts with `prefix`.

    The count reads only the prefix's range of the index; the times come from the session
    row (None for orphans).
    """
    where, bounds = _prefix_range(prefix)
    rows = conn.execute(
        f"""SELECT m.session_id, s.created_at, s.updated_at, m.n
            FROM (SELECT session_id, count(*) AS n FROM {MESSAGES} WHERE {where}
                  GROUP BY session_id ORDER BY n DESC, session_id LIMIT ?) m
            LEFT JOIN {SESSIONS} s ON s.session_id = m.session_id
            ORDER BY m.n DESC, m.session_id""",
        (*bounds, limit),
    )
    return [
        SessionRow(sid, parse_sqlite_time(created), parse_sqlite_time(updated), n)
        for sid, created, updated, n in rows
    ]
