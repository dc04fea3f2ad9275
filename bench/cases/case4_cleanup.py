"""Case 4: expire about half the sessions while another process writes a turn every 20 ms.

Ours is `SessionManager.cleanup_inactive_sessions`; the baseline is a naive single-
transaction DELETE on its own copy of the file, with the same writer beside it. File sizes
are taken with every connection closed (so the write-ahead log is folded in), and no full
VACUUM is run by the benchmark.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.report import Figure, Target
from bench.workspace import Workspace, file_bytes
from bench.writer import with_writer

NUMBER = 4
TITLE = "cleanup under load"
RETENTION_DAYS = 7
EXPIRED = "SELECT session_id FROM agent_sessions WHERE updated_at < datetime('now', ?)"


def naive_cleanup(path: Path) -> int:
    """Everything in one transaction: the write lock is held until the last row is gone."""
    cutoff = (f"-{RETENTION_DAYS} days",)
    with closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"DELETE FROM agent_messages WHERE session_id IN ({EXPIRED})", cutoff)
        deleted = conn.execute(
            "DELETE FROM agent_sessions WHERE updated_at < datetime('now', ?)", cutoff
        ).rowcount
        conn.execute("COMMIT")
    return deleted


def our_cleanup(path: Path) -> int:
    from todochat.memory.manager import SessionManager

    manager = SessionManager(str(path), max_messages=200, retention_days=RETENTION_DAYS)
    return asyncio.run(manager.cleanup_inactive_sessions())


def counts(path: Path, at: str) -> tuple[int, int]:
    """Sessions, and those idle longer than the retention at the moment `at` (SQLite time)."""
    with closing(sqlite3.connect(path)) as conn:
        sessions = conn.execute("SELECT count(*) FROM agent_sessions").fetchone()[0]
        expired = conn.execute(
            "SELECT count(*) FROM agent_sessions WHERE updated_at < datetime(?, ?)",
            (at, f"-{RETENTION_DAYS} days"),
        )
        return sessions, expired.fetchone()[0]


def live_session_ids(ws: Workspace) -> list[str]:
    """Sessions active within the last 5 days: never candidates for expiry during the case."""
    recent = datetime.now(UTC) - timedelta(days=5)
    return [s.session_id for s in ws.specs if s.updated_at > recent]


def run_one(ws: Workspace, name: str, cleanup, neighbours: int = 0, after_s: float = 0.0) -> dict:
    """One cleanup on its own copy beside the writer (and `neighbours` busy processes, for
    `after_s` more seconds after it: bench.writer.with_writer)."""
    path = ws.copy_memory(name)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    before_sessions, expired = counts(path, started)
    before_bytes = file_bytes(path)
    deleted, writer = with_writer(
        path,
        live_session_ids(ws),
        ws.scale.writer_interval_s,
        lambda: cleanup(path),
        neighbours,
        after_s,
    )
    after_sessions, left = counts(path, started)
    # The clock moves during the case: a session may cross the retention boundary meanwhile
    # (about one every two minutes here), so more than `expired` may go, never fewer, and
    # none expired at the start may be left.
    if left or deleted < expired or after_sessions != before_sessions - deleted:
        raise AssertionError(
            f"{name}: deleted {deleted} of {expired} expired sessions "
            f"({before_sessions} -> {after_sessions} sessions), {left} left"
        )
    return {
        "seconds": writer.during_seconds,
        "stall_ms": writer.worst_stall_ms,
        "lock_errors": writer.lock_errors,
        "other_errors": len(writer.errors) - writer.lock_errors,
        "before": before_bytes,
        "after": file_bytes(path),
        "deleted": deleted,
        "after_stall_ms": writer.worst_after_ms if after_s else None,
    }


def run(ws: Workspace) -> list[Figure]:
    naive = run_one(ws, "case4-naive", naive_cleanup)
    ours = run_one(ws, "case4-ours", our_cleanup)
    return figures(naive, ours)


def figures(naive: dict, ours: dict) -> list[Figure]:
    """The case's figures, also those of case 18 (the same run beside busy neighbours)."""
    return [
        Figure("sessions expired", ours["deleted"], "sessions"),
        Figure("cleanup duration", ours["seconds"], "s"),
        Figure("naive single-transaction delete", naive["seconds"], "s"),
        Figure("cleanup / naive", ours["seconds"] / naive["seconds"], "x", Target("<=", 1.5)),
        Figure("writer worst stall during cleanup", ours["stall_ms"], "ms", Target("<=", 150.0)),
        Figure("writer worst stall during naive delete", naive["stall_ms"], "ms"),
        Figure("writer lock errors during cleanup", ours["lock_errors"], "errors", Target("==", 0)),
        Figure(
            "writer other errors during cleanup", ours["other_errors"], "errors", Target("==", 0)
        ),
        Figure("writer lock errors during naive delete", naive["lock_errors"], "errors"),
        Figure("file before", ours["before"], "bytes"),
        Figure("file after", ours["after"], "bytes"),
        Figure("after / before", ours["after"] / ours["before"], "x", Target("<=", 0.60)),
    ]
