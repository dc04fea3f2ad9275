"""What a chat turn does on the file: one read before the run, one write after it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from todochat.memory.store.file import immediate
from todochat.memory.store.items import delete_before, prune_within, touch_session
from todochat.memory.store.monitoring import TurnTiming, record_turn_timing
from todochat.memory.store.schema import CORRUPT, MESSAGES, SESSIONS
from todochat.memory.store.sync import (
    FromLog,
    Watermark,
    advance_watermark,
    set_watermark,
    write_from_log,
)
from todochat.memory.store.values import clean_item, is_turn_start, placeholders

# A turn start in SQL, as `is_turn_start` decides it on a decoded item.
# CASE, not AND: only it makes SQLite test validity before reading the JSON.
TURN_START = (
    "(CASE WHEN json_valid(message_data) AND json_type(message_data) = 'object' "
    "THEN json_extract(message_data, '$.role') IS 'user' "
    "AND (json_type(message_data, '$.type') IS NULL "
    "OR json_extract(message_data, '$.type') IS 'message') ELSE 0 END)"
)


@dataclass
class SessionRows:
    """What a turn reads of its session, once, before the run: every row's id, which rows
    start a turn, which are corrupt, and whether the session is idle enough to touch."""

    ids: list[int]
    starts: set[int]
    corrupt: list[int]
    idle: bool

    @property
    def newest(self) -> int:
        return self.ids[-1] if self.ids else 0


def read_session_rows(conn: sqlite3.Connection, session_id: str, idle_seconds: int) -> SessionRows:
    """The session's rows in id order (reading each stored item once: also the probe that
    finds an unreadable file) and whether it was last written over `idle_seconds` ago."""
    rows = conn.execute(
        f"SELECT id, {CORRUPT}, {TURN_START} FROM {MESSAGES} WHERE session_id = ? ORDER BY id",
        (session_id,),
    ).fetchall()
    idle = conn.execute(
        f"SELECT updated_at < datetime('now', ?) FROM {SESSIONS} WHERE session_id = ?",
        (f"-{idle_seconds} seconds", session_id),
    ).fetchone()
    corrupt = [row_id for row_id, bad, _ in rows if bad]
    kept = [(row_id, start) for row_id, bad, start in rows if not bad]
    return SessionRows(
        [row_id for row_id, _ in kept],
        {row_id for row_id, start in kept if start},
        corrupt,
        bool(idle and idle[0]),
    )


def prune_cut(ids: Sequence[int], starts: set[int], max_items: int) -> int | None:
    """The id a prune deletes before (None: nothing goes), decided as `prune_session` does."""
    if len(ids) < max_items:
        return None
    boundary = ids[-max_items]
    later = [row_id for row_id in ids if row_id >= boundary and row_id in starts]
    if later:
        return later[0]
    earlier = [row_id for row_id in ids if row_id < boundary and row_id in starts]
    return earlier[-1] if earlier else None


def before_turn(
    conn: sqlite3.Connection, session_id: str, rows: SessionRows, catchup: FromLog | None
) -> None:
    """Before the run, one transaction, only when there is something to write: delete the
    corrupt rows, mark the session active (a cleanup running during the turn keeps it) and
    write a catch-up from the log."""
    with immediate(conn):
        if rows.corrupt:
            conn.execute(
                f"DELETE FROM {MESSAGES} WHERE id IN ({placeholders(rows.corrupt)})",
                tuple(rows.corrupt),
            )
        touch_session(conn, session_id)
        if catchup is not None:
            write_from_log(conn, session_id, catchup)


@dataclass
class TurnEnd:
    """What a turn leaves in memory: the run's items, the reply logged, its timings."""

    items: list[dict[str, Any]]
    reply_id: int | None
    timing: TurnTiming | None
    seen: Watermark | None = None  # a catch-up's watermark that had nothing else to write


def finish_turn(
    conn: sqlite3.Connection,
    session_id: str,
    end: TurnEnd,
    max_items: int,
    rows: SessionRows | None,
) -> int:
    """Write the turn's items (as storable text), advance the watermark, record the timings
    and prune to whole turns: one transaction. With the `rows` read before the run, the
    prune reads nothing again; without (no turn ran here), it reads as `prune_session` does.
    Returns the items pruned. A prune that fails is undone alone: the rest is committed
    (memory still knows this turn), then its error is raised."""
    with immediate(conn):
        added = _add_items(conn, session_id, end.items)
        if end.seen is not None:
            set_watermark(conn, session_id, end.seen)
        if end.reply_id is not None:
            advance_watermark(conn, session_id, end.reply_id)
        if end.timing is not None:
            record_turn_timing(conn, end.timing)
        conn.execute("SAVEPOINT prune")
        try:
            pruned = _prune_turn(conn, session_id, max_items, rows, added)
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK TO prune")
            failure = exc
        else:
            failure = None
        conn.execute("RELEASE prune")
    if failure is not None:
        raise failure
    return pruned


def _prune_turn(
    conn: sqlite3.Connection,
    session_id: str,
    max_items: int,
    rows: SessionRows | None,
    added: list[tuple[int, bool]],
) -> int:
    if rows is None:
        return prune_within(conn, session_id, max_items)
    starts = rows.starts | {row_id for row_id, start in added if start}
    cut = prune_cut(rows.ids + [row_id for row_id, _ in added], starts, max_items)
    return delete_before(conn, session_id, cut) if cut is not None else 0


def _add_items(
    conn: sqlite3.Connection, session_id: str, items: Sequence[dict[str, Any]]
) -> list[tuple[int, bool]]:
    """Insert items as the SDK's `add_items` does, each made storable text first; (id,
    starts a turn) of each."""
    if not items:
        return []
    conn.execute(f"INSERT OR IGNORE INTO {SESSIONS} (session_id) VALUES (?)", (session_id,))
    added = []
    for item in items:
        clean = clean_item(item)
        row_id = conn.execute(
            f"INSERT INTO {MESSAGES} (session_id, message_data) VALUES (?, ?)",
            (session_id, json.dumps(clean)),
        ).lastrowid
        added.append((row_id, is_turn_start(clean)))
    touch_session(conn, session_id)
    return added
