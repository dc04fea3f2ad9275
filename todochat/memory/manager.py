"""SessionManager: measure, prune, clear, repair and expire agent memory (the spec's Common Tasks).

Safe next to a running chat: every write is a short `BEGIN IMMEDIATE` transaction retried by
the one lock policy (`locks.retry_locked`), and no method creates the file. Importing this
module does not import the Agents SDK, so admin commands start fast.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from todochat.config import Settings
from todochat.errors import memory_failure
from todochat.memory import expire as cleanup
from todochat.memory import metrics as health
from todochat.memory import store
from todochat.memory.expire import CleanupReport
from todochat.memory.locks import cleanup_running, retry_locked
from todochat.memory.store import SessionRow, parse_sqlite_time

__all__ = ["CleanupReport", "RepairReport", "SessionManager", "SessionRow", "parse_sqlite_time"]

T = TypeVar("T")

# Spec "Alerting Thresholds".
ALERT_DATABASE_BYTES = 500 * 1024 * 1024
ALERT_ACTIVE_SESSIONS = 10_000


@dataclass
class RepairReport:
    """Corrupt items removed and what SQLite's quick check found (`["ok"]` when sound)."""

    removed: int = 0
    check: list[str] = field(default_factory=list)
    file_exists: bool = True

    @property
    def ok(self) -> bool:
        return self.check == ["ok"] or not self.file_exists


class SessionManager:
    """Administration of one agent-memory file. No method creates the file."""

    def __init__(self, db_path: str, max_messages: int = 200, retention_days: int = 7):
        self.db_path = str(db_path)
        self.max_messages = max_messages
        self.retention_days = retention_days

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionManager:
        return cls(
            store.usable_path(settings.agent_session_db_path),
            settings.agent_session_max_messages,
            settings.agent_session_retention_days,
        )

    @property
    def exists(self) -> bool:
        """Whether there is a memory file; one that is not ours raises `MemoryStoreError`."""
        return store.existing_file(self.db_path)

    # --- plumbing -------------------------------------------------------------------------

    def _read(self, operation: Callable[[sqlite3.Connection], T], empty: T) -> T:
        """Run a read on the file, or return `empty` when there is no file (or no tables yet)."""

        def run() -> T:
            with closing(store.connect(self.db_path, readonly=True)) as conn:
                try:
                    return operation(conn)
                except sqlite3.OperationalError as exc:
                    if "no such table" in str(exc):
                        return empty
                    raise

        return self._guarded(lambda: retry_locked(run) if self.exists else empty)

    def _write(self, operation: Callable[[sqlite3.Connection], T], empty: T) -> T:
        """Run a write on an existing file (our indexes first); no file means nothing to do."""

        def run() -> T:
            with closing(store.connect(self.db_path)) as conn:
                store.ensure_schema(conn)
                return operation(conn)

        return self._guarded(lambda: retry_locked(run) if self.exists else empty)

    def _guarded(self, operation: Callable[[], T]) -> T:
        """What SQLite and the file system raise, as one actionable `MemoryStoreError`."""
        try:
            return operation()
        except (sqlite3.Error, OSError) as exc:
            raise memory_failure(exc, self.db_path) from None

    # --- the spec's API ---------------------------------------------------------------------

    async def get_session_stats(self, session_id: str) -> dict[str, Any]:
        """Counts by kind, bytes and times of one session; unknown is all zeros and None."""
        return await asyncio.to_thread(
            self._read,
            lambda c: store.session_stats(c, session_id),
            store.empty_session_stats(),
        )

    async def prune_session_messages(self, session_id: str) -> int:
        """Trim to the newest `max_messages` items at a turn start; the number deleted."""
        return await asyncio.to_thread(
            self._write, lambda c: store.prune_session(c, session_id, self.max_messages), 0
        )

    async def prune_sessions(self, prefix: str = "") -> tuple[int, int]:
        """Prune every session whose id starts with `prefix`: (sessions touched, items deleted).

        One short transaction per session, so a chat turn never waits long.
        """
        rows = await self.list_sessions(prefix)
        over = [row.session_id for row in rows if row.items > self.max_messages]
        counts = [await self.prune_session_messages(session_id) for session_id in over]
        return sum(1 for n in counts if n), sum(counts)

    async def clear_session(self, session_id: str) -> int:
        """Delete the session's items and its row (emergency recovery: a fresh start)."""
        return await asyncio.to_thread(
            self._write, lambda c: store.delete_session(c, session_id), 0
        )

    async def cleanup_inactive_sessions(self) -> int:
        """Delete sessions idle for longer than `retention_days`; the number deleted."""
        return (await self.cleanup()).sessions

    async def get_active_session_count(self) -> int:
        """Sessions written to within `retention_days`."""
        return await asyncio.to_thread(
            self._read, lambda c: store.active_session_count(c, self.retention_days), 0
        )

    async def get_average_messages_per_session(self) -> float:
        return await asyncio.to_thread(self._read, store.average_items_per_session, 0.0)

    async def list_sessions(self, prefix: str = "") -> list[SessionRow]:
        """Sessions whose id starts with `prefix` (all when empty), most recent first."""
        return await asyncio.to_thread(self._read, lambda c: store.list_sessions(c, prefix), [])

    # --- monitoring -------------------------------------------------------------------------

    def database_size(self) -> int:
        """Bytes on disk: the file plus its write-ahead log."""
        return store.database_size(self.db_path)

    async def totals(
        self, largest: int = 5, prefix: str = "", deep: bool = False
    ) -> dict[str, Any]:
        """File-wide figures with the spec's alert thresholds flagged.

        `largest_sessions` holds `SessionRow`s (they carry session ids, so they are not JSON:
        callers describe them as conversations) of sessions whose id starts with `prefix`.
        The corrupt-item count is the last one recorded, with `corrupt_items_measured_at`;
        `deep` measures and records it first (reads every row: seconds on a large file).
        """
        if deep:
            await self.measure_corrupt_items()
        with closing(_empty_connection()) as conn:
            empty = store.totals(conn, self.retention_days, largest)
        # The item count (a tenth of a second on 2,000,000 items) runs on a second connection
        # beside the other reads.
        items, figures = await asyncio.gather(
            asyncio.to_thread(self._read, store.item_count, 0),
            asyncio.to_thread(
                self._read,
                lambda c: store.totals(c, self.retention_days, largest, prefix=prefix, items=0),
                empty,
            ),
        )
        sessions = figures["sessions"]
        database = self.database_size()
        figures.update(
            items=items,
            average_items_per_session=items / sessions if sessions else 0.0,
            database_bytes=database,
            wal_bytes=store.wal_size(self.db_path),
            file_exists=self.exists,
            alerts={
                "database_size": database > ALERT_DATABASE_BYTES,
                "active_sessions": figures["active_sessions"] > ALERT_ACTIVE_SESSIONS,
            },
        )
        for name, part in (await asyncio.to_thread(self.monitoring)).items():
            figures["alerts"].update(part.pop("alerts"))
            figures[name] = part
        return figures

    def monitoring(self, now: float | None = None) -> dict[str, dict[str, Any]]:
        """Cleanup health and turn latency from what runs and turns recorded (see `health`).

        Alerts are under each part's `alerts`.
        """
        now = time.time() if now is None else now
        runs, timings, totals = self._read(
            lambda c: (
                store.cleanup_runs(c),
                store.turn_timings(c, now - health.WINDOW_SECONDS),
                store.turn_totals(c),
            ),
            ([], [], dict.fromkeys(store.TURN_TOTALS, 0)),
        )
        running = any(r.outcome is None for r in runs) and cleanup_running(self.db_path)
        return {
            "cleanup": health.cleanup_health(runs, running, now),
            "latency": health.latency(timings, totals),
        }

    async def measure_corrupt_items(self) -> int | None:
        """Count corrupt items now (a full scan) and record the count with its time."""
        return await asyncio.to_thread(self._write, store.measure_corrupt_items, None)

    # --- repair -----------------------------------------------------------------------------

    async def repair(self) -> RepairReport:
        """Run SQLite's quick check; when the file is sound, delete corrupt items."""
        if not self.exists:
            return RepairReport(file_exists=False)
        return await asyncio.to_thread(self._guarded, self._repair)

    def _repair(self) -> RepairReport:
        conn = None
        try:
            conn = store.connect(self.db_path)
            check = store.quick_check(conn)
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.OperationalError):
                raise
            return RepairReport(check=[str(exc)])  # a SQLite header on a damaged file
        with closing(conn):
            if check != ["ok"]:
                return RepairReport(check=check)
            retry_locked(lambda: store.ensure_schema(conn))
            started = store.sqlite_now(conn)
            removed = retry_locked(lambda: store.remove_corrupt_items(conn))
            # The scan read every row: what it found corrupt is gone, so none are left as of
            # its start (rows written meanwhile are the next measurement's).
            retry_locked(lambda: store.record_measurement(conn, "corrupt_items", 0, started))
        return RepairReport(removed=removed, check=check)

    def move_aside(self) -> Path | None:
        """Set a damaged database aside as `<name>.corrupt-<UTC time>`; chats rebuild from the log.

        Only a file with a SQLite header is ever moved; None when there was nothing to move.
        """
        return self._guarded(lambda: store.move_aside(self.db_path) if self.exists else None)

    # --- cleanup ----------------------------------------------------------------------------

    async def cleanup(
        self,
        *,
        older_than_days: int | None = None,
        dry_run: bool = False,
        vacuum: bool = False,
        lock_wait: float = cleanup.LOCK_WAIT_SECONDS,
        now: str = "now",
    ) -> CleanupReport:
        """Expire idle sessions and orphaned items in short batches, then give space back.

        `now` (SQLite time text) exists for tests at the exact retention boundary. When
        another cleanup holds the lock for longer than `lock_wait`, nothing is done and the
        report says so.
        """
        days = self.retention_days if older_than_days is None else older_than_days
        return await asyncio.to_thread(
            lambda: cleanup.run(
                self.db_path, days, dry_run=dry_run, vacuum=vacuum, lock_wait=lock_wait, now=now
            )
        )


def _empty_connection() -> sqlite3.Connection:
    """An in-memory database with the schema: the figures of a file that does not exist yet."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    store.ensure_schema(conn)
    return conn
