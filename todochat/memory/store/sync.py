"""Following the log: which log message each session is up to date with (watermarks)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from todochat.memory.store.schema import MESSAGES, SESSIONS, WATERMARKS, WATERMARKS_SCHEMA


@dataclass(frozen=True)
class FromLog:
    """Items taken from the log for memory, what memory then holds of the log, and whether
    they replace what the session held."""

    items: Sequence[dict[str, Any]]
    seen: Watermark
    replace: bool


@dataclass(frozen=True)
class Watermark:
    message_id: int
    reset_at: str | None


def ensure_watermarks(conn: sqlite3.Connection) -> None:
    conn.execute(WATERMARKS_SCHEMA)


def watermark(conn: sqlite3.Connection, session_id: str) -> Watermark | None:
    """What the session's memory holds of the log; None when it never recorded it."""
    row = conn.execute(
        f"SELECT message_id, reset_at FROM {WATERMARKS} WHERE session_id = ?", (session_id,)
    ).fetchone()
    return Watermark(*row) if row else None


def write_from_log(conn: sqlite3.Connection, session_id: str, catchup: FromLog) -> None:
    """Add items taken from the log (after deleting the session's items, if `replace`) and
    record what memory now holds of the log, inside the caller's transaction, so neither is
    without the other. Rows are written as the SDK's `SQLiteSession.add_items` writes them.
    """
    if catchup.replace:
        conn.execute(f"DELETE FROM {MESSAGES} WHERE session_id = ?", (session_id,))
    if catchup.items:
        conn.execute(f"INSERT OR IGNORE INTO {SESSIONS} (session_id) VALUES (?)", (session_id,))
        conn.executemany(
            f"INSERT INTO {MESSAGES} (session_id, message_data) VALUES (?, ?)",
            [(session_id, json.dumps(item)) for item in catchup.items],
        )
    set_watermark(conn, session_id, catchup.seen)


def set_watermark(conn: sqlite3.Connection, session_id: str, seen: Watermark) -> None:
    conn.execute(
        f"INSERT INTO {WATERMARKS} (session_id, message_id, reset_at) VALUES (?, ?, ?) "
        "ON CONFLICT (session_id) DO UPDATE SET message_id = excluded.message_id, "
        "reset_at = excluded.reset_at, updated_at = CURRENT_TIMESTAMP",
        (session_id, seen.message_id, seen.reset_at),
    )


def advance_watermark(conn: sqlite3.Connection, session_id: str, message_id: int) -> None:
    """After a turn: memory holds the log up to this reply (a session never recorded stays so)."""
    conn.execute(
        f"UPDATE {WATERMARKS} SET message_id = ?, updated_at = CURRENT_TIMESTAMP "
        "WHERE session_id = ? AND message_id < ?",
        (message_id, session_id, message_id),
    )
