"""Case 8: bytes per item at full scale, and the file after seven simulated days of cleanup.

A simulated day: every session's `updated_at` moves one day back (in SQL, no waiting), a
day's worth of new sessions arrives (1/14 of the file, as the generator spreads 14 days),
and `SessionManager.cleanup_inactive_sessions` runs. "Live data" is the pages that hold
rows and indexes, (page_count - freelist_count) * page_size; the rest of the file is free
space that cleanup left behind.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from bench.generate import SPREAD_DAYS, fill, plan_sessions
from bench.report import Figure, Target
from bench.workspace import Workspace, file_bytes

NUMBER = 8
TITLE = "storage"


def live_bytes(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    return (pages - free) * page_size


def item_count(path: Path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT count(*) FROM agent_messages").fetchone()[0]


def shift_one_day(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE agent_sessions SET updated_at = datetime(updated_at, '-1 day')")


def simulate_day(ws: Workspace, path: Path, day: int) -> None:
    from todochat.memory.manager import SessionManager

    shift_one_day(path)
    arrivals = plan_sessions(
        max(1, ws.scale.sessions // SPREAD_DAYS), 800 + day, datetime.now(UTC), 1
    )
    fill(path, arrivals, ws.scale.items_per_session, 900 + day)
    manager = SessionManager(str(path), max_messages=ws.scale.items_per_session, retention_days=7)
    asyncio.run(manager.cleanup_inactive_sessions())


def run(ws: Workspace) -> list[Figure]:
    base_bytes, base_items = file_bytes(ws.base_memory), item_count(ws.base_memory)
    path = ws.copy_memory("case8")
    for day in range(ws.scale.storage_days):
        simulate_day(ws, path, day)
    after_bytes, after_live = file_bytes(path), live_bytes(path)
    return [
        Figure("items at generated scale", base_items, "items"),
        Figure("file at generated scale", base_bytes, "bytes"),
        Figure("bytes per item", base_bytes / base_items, "B"),
        Figure(f"file after {ws.scale.storage_days} simulated days", after_bytes, "bytes"),
        Figure("live data after those days", after_live, "bytes"),
        Figure("file / live data", after_bytes / after_live, "x", Target("<=", 1.5)),
    ]
