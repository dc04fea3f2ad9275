"""What ran on the file: recorded measurements, turn timings and cleanup runs."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import astuple, dataclass
from datetime import datetime

from todochat.memory.store.file import immediate
from todochat.memory.store.schema import (
    CLEANUP_RUNS,
    CLEANUP_RUNS_KEPT,
    CLEANUP_RUNS_SCHEMA,
    CORRUPT,
    MEASUREMENTS,
    MEASUREMENTS_SCHEMA,
    MESSAGES,
    TURN_TIMINGS,
    TURN_TIMINGS_KEPT,
    TURN_TIMINGS_SCHEMA,
    TURN_TOTALS,
)
from todochat.memory.store.values import parse_sqlite_time


def sqlite_now(conn: sqlite3.Connection) -> str:
    """SQLite's current UTC time as `CURRENT_TIMESTAMP` text."""
    return conn.execute("SELECT CURRENT_TIMESTAMP").fetchone()[0]


def count_corrupt_items(conn: sqlite3.Connection) -> int:
    """Corrupt rows in the whole file: reads every row (seconds on a 1 GB file)."""
    return conn.execute(f"SELECT coalesce(sum({CORRUPT}), 0) FROM {MESSAGES}").fetchone()[0]


def record_measurement(conn: sqlite3.Connection, name: str, value: int, measured_at: str) -> None:
    """Keep `value` with the time its scan started (one tiny write transaction)."""
    with immediate(conn):
        conn.execute(MEASUREMENTS_SCHEMA)
        conn.execute(
            f"INSERT INTO {MEASUREMENTS} (name, value, measured_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
            "measured_at = excluded.measured_at",
            (name, int(value), measured_at),
        )


def recorded_measurement(conn: sqlite3.Connection, name: str) -> tuple[int | None, datetime | None]:
    """(value, measured at) of a recorded figure; (None, None) when never measured."""
    try:
        row = conn.execute(
            f"SELECT value, measured_at FROM {MEASUREMENTS} WHERE name = ?", (name,)
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        row = None
    return (row[0], parse_sqlite_time(row[1])) if row else (None, None)


def recorded_corrupt_items(conn: sqlite3.Connection) -> tuple[int | None, datetime | None]:
    return recorded_measurement(conn, "corrupt_items")


def measure_corrupt_items(conn: sqlite3.Connection) -> int:
    """Count corrupt rows now (a full scan, no lock held) and record the count."""
    started = sqlite_now(conn)
    corrupt = count_corrupt_items(conn)
    record_measurement(conn, "corrupt_items", corrupt, started)
    return corrupt


@dataclass(frozen=True)
class TurnTiming:
    """What one chat turn measured, in seconds (see `todochat.memory.metrics`)."""

    retrieval: float
    outside_model: float


def record_turn_timing(conn: sqlite3.Connection, timing: TurnTiming) -> None:
    """Add a turn to the ring and the lifetime totals, inside the caller's transaction."""
    conn.execute(TURN_TIMINGS_SCHEMA)
    conn.execute(MEASUREMENTS_SCHEMA)
    row_id = conn.execute(
        f"INSERT INTO {TURN_TIMINGS} (at, retrieval_seconds, outside_model_seconds) "
        "VALUES (?, ?, ?)",
        (time.time(), timing.retrieval, timing.outside_model),
    ).lastrowid
    conn.execute(f"DELETE FROM {TURN_TIMINGS} WHERE id <= ?", (row_id - TURN_TIMINGS_KEPT,))
    added = (1, round(timing.retrieval * 1e6), round(timing.outside_model * 1e6))
    conn.executemany(
        f"INSERT INTO {MEASUREMENTS} (name, value, measured_at) "
        "VALUES (?, ?, CURRENT_TIMESTAMP) ON CONFLICT (name) DO UPDATE SET "
        "value = value + excluded.value, measured_at = excluded.measured_at",
        zip(TURN_TOTALS, added, strict=True),
    )


def turn_timings(conn: sqlite3.Connection, since: float) -> list[TurnTiming]:
    """The ring's turns recorded at or after `since` (Unix time), oldest first."""
    rows = _rows_if_table(
        conn,
        f"SELECT retrieval_seconds, outside_model_seconds FROM {TURN_TIMINGS} "
        "WHERE at >= ? ORDER BY id",
        (since,),
    )
    return [TurnTiming(retrieval, outside) for retrieval, outside in rows]


def turn_totals(conn: sqlite3.Connection) -> dict[str, int]:
    """Lifetime turn count and summed microseconds (zeros before the first timed turn)."""
    return {name: recorded_measurement(conn, name)[0] or 0 for name in TURN_TOTALS}


@dataclass(frozen=True)
class CleanupRun:
    """One recorded cleanup run; `outcome` is None while it runs or when it was killed."""

    id: int
    started_at: float
    finished_at: float | None
    outcome: str | None
    error: str | None
    sessions: int | None
    items: int | None
    orphan_items: int | None
    bytes_freed: int | None


def record_cleanup_start(conn: sqlite3.Connection, started_at: float) -> int:
    """Record a run's start in its own short transaction, keeping the newest runs; its id."""
    with immediate(conn):
        conn.execute(CLEANUP_RUNS_SCHEMA)
        run_id = conn.execute(
            f"INSERT INTO {CLEANUP_RUNS} (started_at) VALUES (?)", (started_at,)
        ).lastrowid
        conn.execute(f"DELETE FROM {CLEANUP_RUNS} WHERE id <= ?", (run_id - CLEANUP_RUNS_KEPT,))
    return run_id


def record_cleanup_end(conn: sqlite3.Connection, run: CleanupRun) -> None:
    """Complete a run's row (or, when its start could not be recorded, add it whole)."""
    with immediate(conn):
        conn.execute(CLEANUP_RUNS_SCHEMA)
        conn.execute(
            f"INSERT INTO {CLEANUP_RUNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, "
            "outcome = excluded.outcome, error = excluded.error, "
            "sessions = excluded.sessions, items = excluded.items, "
            "orphan_items = excluded.orphan_items, bytes_freed = excluded.bytes_freed",
            astuple(run),
        )


def cleanup_runs(conn: sqlite3.Connection) -> list[CleanupRun]:
    """The recorded runs, newest first (none before the first run)."""
    rows = _rows_if_table(conn, f"SELECT * FROM {CLEANUP_RUNS} ORDER BY id DESC", ())
    return [CleanupRun(*row) for row in rows]


def _rows_if_table(conn: sqlite3.Connection, sql: str, args: tuple) -> list[tuple]:
    """The rows of a read on one of our tables; none when the table does not exist yet."""
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return []
