"""Items by session: pruning to whole turns, deleting sessions, corrupt items and
orphans, and what a turn touches."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from todochat.memory.store.file import immediate
from todochat.memory.store.monitoring import TurnTiming, record_turn_timing
from todochat.memory.store.schema import (
    CORRUPT,
    MESSAGE_SESSION_IDS,
    MESSAGES,
    ORPHAN,
    SESSIONS,
    WATERMARKS,
)
from todochat.memory.store.values import decode_item, is_turn_start, placeholders


def prune_session(
    conn: sqlite3.Connection, session_id: str, max_items: int, timing: TurnTiming | None = None
) -> int:
    """Keep at most the newest `max_items` items, cut at a turn start; return how many went.

    The cut is the first user message at or after the `max_items`-th newest item, so a tool
    output never loses its call and a reasoning item never loses what follows it. A single
    turn longer than the limit is kept whole. The reads walk the kept items' index entries
    and the delete touches only what goes, so cost does not grow with what was deleted before.
    A chat turn's `timing` is recorded in the same transaction (no commit of its own).
    """
    with immediate(conn):
        if timing is not None:
            record_turn_timing(conn, timing)
        return prune_within(conn, session_id, max_items)


def prune_within(conn: sqlite3.Connection, session_id: str, max_items: int) -> int:
    """`prune_session`'s work, inside the caller's transaction."""
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
    return delete_before(conn, session_id, cut)


def delete_before(conn: sqlite3.Connection, session_id: str, cut: int) -> int:
    return conn.execute(
        f"DELETE FROM {MESSAGES} WHERE session_id = ? AND id < ?", (session_id, cut)
    ).rowcount


def _first_turn_start_from(conn: sqlite3.Connection, session_id: str, from_id: int) -> int | None:
    return _turn_start(conn, session_id, "id >= ? ORDER BY id", from_id)


def _last_turn_start_before(
    conn: sqlite3.Connection, session_id: str, before_id: int
) -> int | None:
    # Only reached when the newest turn alone is longer than the limit: keep that turn whole.
    return _turn_start(conn, session_id, "id < ? ORDER BY id DESC", before_id)


def _turn_start(conn: sqlite3.Connection, session_id: str, where: str, bound: int) -> int | None:
    """The id of the first turn start among the session's rows selected by `where`."""
    rows = conn.execute(
        f"SELECT id, message_data FROM {MESSAGES} WHERE session_id = ? AND {where}",
        (session_id, bound),
    )
    for row_id, data in rows:
        if is_turn_start(decode_item(data)):
            return row_id
    return None


def delete_session(conn: sqlite3.Connection, session_id: str) -> int:
    """Delete a session's messages and its row together (foreign keys are off in SQLite)."""
    with immediate(conn):
        return delete_sessions(conn, [session_id])


def delete_sessions(conn: sqlite3.Connection, session_ids: Sequence[str]) -> int:
    marks = placeholders(session_ids)
    deleted = conn.execute(
        f"DELETE FROM {MESSAGES} WHERE session_id IN ({marks})", tuple(session_ids)
    ).rowcount
    conn.execute(f"DELETE FROM {SESSIONS} WHERE session_id IN ({marks})", tuple(session_ids))
    # What memory held of the log goes with it (`ensure_schema` made the table).
    conn.execute(f"DELETE FROM {WATERMARKS} WHERE session_id IN ({marks})", tuple(session_ids))
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
                f"DELETE FROM {MESSAGES} WHERE id IN ({placeholders(chunk)}) AND {CORRUPT}",
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


def orphan_session_ids(conn: sqlite3.Connection) -> list[str]:
    """Session ids that messages carry but `agent_sessions` lacks (one index seek per id)."""
    rows = conn.execute(
        f"{MESSAGE_SESSION_IDS} SELECT sid FROM ids WHERE sid IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {SESSIONS} s WHERE s.session_id = ids.sid)"
    )
    return [sid for (sid,) in rows]


def orphan_item_count(conn: sqlite3.Connection) -> int:
    """Messages whose session row is gone."""
    orphans = orphan_session_ids(conn)
    return sum(
        conn.execute(f"SELECT count(*) FROM {MESSAGES} WHERE session_id = ?", (sid,)).fetchone()[0]
        for sid in orphans
    )


def orphan_item_ids(conn: sqlite3.Connection, limit: int | None = 1000) -> list[int]:
    """Messages whose session row is gone (left by a tool that honoured no cascade)."""
    orphans = orphan_session_ids(conn)[:500]  # within SQLite's limit on parameters
    if not orphans:
        return []
    rows = conn.execute(
        f"SELECT id FROM {MESSAGES} WHERE session_id IN ({placeholders(orphans)}) "
        "ORDER BY id LIMIT ?",
        (*orphans, -1 if limit is None else limit),
    )
    return [row_id for (row_id,) in rows]


def delete_orphans(conn: sqlite3.Connection, ids: Sequence[int]) -> int:
    """Delete those of `ids` that are still orphans, in one short transaction."""
    with immediate(conn):
        return conn.execute(
            f"DELETE FROM {MESSAGES} WHERE id IN ({placeholders(ids)}) AND {ORPHAN}",
            tuple(ids),
        ).rowcount


def touch_session(conn: sqlite3.Connection, session_id: str) -> None:
    """Mark a session active now, so a cleanup running meanwhile keeps it (it re-checks)."""
    conn.execute(
        f"UPDATE {SESSIONS} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?", (session_id,)
    )
