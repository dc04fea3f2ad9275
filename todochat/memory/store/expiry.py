"""Expiry for cron in short transactions, orphans, and giving free pages back."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from todochat.memory.store.file import immediate
from todochat.memory.store.items import delete_sessions
from todochat.memory.store.schema import MESSAGES, ODD_TIME, SESSIONS, STALE
from todochat.memory.store.values import placeholders


@dataclass
class BatchResult:
    """What one short write transaction of a cleanup did, and how long it held the lock."""

    sessions: int = 0
    items: int = 0
    kept: int = 0
    held_seconds: float = 0.0


def stale_session_ids(
    conn: sqlite3.Connection, retention_days: int, limit: int | None, now: str = "now"
) -> list[str]:
    """Ids of sessions idle longer than `retention_days`, oldest first (no item counts)."""
    rows = conn.execute(
        f"SELECT session_id FROM {SESSIONS} WHERE {STALE} ORDER BY updated_at, session_id LIMIT ?",
        (now, f"-{retention_days} days", -1 if limit is None else limit),
    )
    return [sid for (sid,) in rows]


def stale_item_count(
    conn: sqlite3.Connection,
    retention_days: int,
    now: str = "now",
    from_id: str | None = None,
    below_id: str | None = None,
) -> int:
    """Items of sessions idle longer than `retention_days` (ids in [from_id, below_id))."""
    bounds = (
        (" AND session_id >= ?" if from_id is not None else "")
        + (" AND session_id < ?" if below_id is not None else ""),
        tuple(b for b in (from_id, below_id) if b is not None),
    )
    return conn.execute(
        f"SELECT count(*) FROM {MESSAGES} WHERE session_id IN "
        f"(SELECT session_id FROM {SESSIONS} WHERE {STALE}{bounds[0]})",
        (now, f"-{retention_days} days", *bounds[1]),
    ).fetchone()[0]


def expire_batch(
    conn: sqlite3.Connection, session_ids: Sequence[str], retention_days: int, now: str = "now"
) -> BatchResult:
    """Delete these sessions and their items in one write transaction, if still stale.

    The staleness test is repeated under the lock: a session written to since it was
    selected is kept.
    """
    with immediate(conn):
        locked_at = time.perf_counter()
        stale = [
            sid
            for (sid,) in conn.execute(
                f"SELECT session_id FROM {SESSIONS} "
                f"WHERE session_id IN ({placeholders(session_ids)}) AND {STALE}",
                (*session_ids, now, f"-{retention_days} days"),
            )
        ]
        items = delete_sessions(conn, stale) if stale else 0
    held = time.perf_counter() - locked_at
    return BatchResult(len(stale), items, len(session_ids) - len(stale), held)


def auto_vacuum_mode(conn: sqlite3.Connection) -> str:
    return {0: "none", 1: "full", 2: "incremental"}.get(
        conn.execute("PRAGMA auto_vacuum").fetchone()[0], "unknown"
    )


def free_pages(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA freelist_count").fetchone()[0]


@dataclass
class ReleaseResult:
    """What one release step did: pages freed, pages still free, and its hold on the lock."""

    released: int = 0
    left: int = 0
    held_seconds: float = 0.0


def release_free_pages(conn: sqlite3.Connection, pages: int = 256) -> ReleaseResult:
    """Return up to `pages` free pages to the OS in one short transaction.

    Only files in incremental auto-vacuum mode can do this; others need a full VACUUM.
    Python steps a pragma without result columns once, and each step frees one page, so the
    pragma runs once per page, inside the transaction: the counts are exact (taken outside
    it, a chat turn reusing free pages in between made a step seem to free nothing, which
    ended a cleanup's release early).
    """
    if auto_vacuum_mode(conn) != "incremental":
        return ReleaseResult()
    with immediate(conn):
        locked_at = time.perf_counter()
        before = free_pages(conn)
        conn.executemany("PRAGMA incremental_vacuum(1)", (() for _ in range(min(pages, before))))
        left = free_pages(conn)
    return ReleaseResult(before - left, left, time.perf_counter() - locked_at)


def checkpoint_passive(conn: sqlite3.Connection) -> int:
    """Copy what the write-ahead log holds into the file, as far as readers allow; no waiting.

    Returns the frames left in the log uncopied (0 when it is all in the file).
    """
    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if row is None or row[1] < 0:  # not in WAL mode: nothing to copy
        return 0
    return row[1] - row[2]


def checkpoint_truncate(conn: sqlite3.Connection) -> bool:
    """Copy the WAL into the file and truncate it; False when a reader kept it busy."""
    row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return row is None or row[0] == 0


def vacuum(conn: sqlite3.Connection) -> None:
    """Rebuild the file; an older file becomes incremental auto-vacuum on the way."""
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("VACUUM")


def normalize_times(conn: sqlite3.Connection, now: str = "now") -> int:
    """Rewrite `updated_at` values the SDK never writes, so cleanup can judge them.

    A Unix time (a number) becomes that time as text; NULL, garbage or a future time becomes
    now: the session is kept this run and judged by the next. Returns the rows rewritten.
    """
    with immediate(conn):
        return conn.execute(
            f"""UPDATE {SESSIONS} SET updated_at = CASE
                    WHEN typeof(updated_at) IN ('integer', 'real')
                         AND datetime(updated_at, 'unixepoch') <= datetime(?1)
                    THEN datetime(updated_at, 'unixepoch')
                    WHEN datetime(updated_at) IS NOT NULL AND datetime(updated_at) <= datetime(?1)
                         AND typeof(updated_at) = 'text'
                    THEN datetime(updated_at)
                    ELSE datetime(?1) END
                WHERE {ODD_TIME.replace("?", "?1")}""",
            (now,),
        ).rowcount
