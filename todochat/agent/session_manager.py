"""SessionManager: measure, prune, clear, repair and expire agent memory (the spec's Common Tasks).

Safe next to a running chat: every write is a short `BEGIN IMMEDIATE` transaction retried by
the one lock policy (`retry.retry_locked`), and read-only methods never create the file.
Importing this module does not import the Agents SDK, so admin commands start fast.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from todochat.agent import memory_store
from todochat.agent.memory_store import SessionRow, parse_sqlite_time
from todochat.agent.retry import retry_locked
from todochat.config import Settings
from todochat.errors import MemoryStoreError

__all__ = ["CleanupReport", "RepairReport", "SessionManager", "SessionRow", "parse_sqlite_time"]

T = TypeVar("T")

# Spec "Alerting Thresholds".
ALERT_DATABASE_BYTES = 500 * 1024 * 1024
ALERT_ACTIVE_SESSIONS = 10_000
# One expiry transaction deletes at most this many items: a few milliseconds of write lock.
BATCH_ITEMS = 1000
BATCH_SESSIONS = 500
ORPHAN_BATCH = 1000
FREE_PAGE_STEP = 512
# Between two write transactions a cleanup steps aside this long (see `_count_batch`).
MIN_PAUSE = 0.005
MAX_PAUSE = 0.05
LOCK_WAIT_SECONDS = 5.0


@dataclass
class CleanupReport:
    """What one cleanup run did (or, with `dry_run`, would do)."""

    sessions: int = 0
    items: int = 0
    orphan_items: int = 0
    kept: int = 0
    batches: int = 0
    max_batch_ms: float = 0.0
    bytes_before: int = 0
    bytes_after: int = 0
    seconds: float = 0.0
    retention_days: int = 0
    dry_run: bool = False
    vacuumed: bool = False
    file_exists: bool = True
    another_run_active: bool = False

    @property
    def bytes_freed(self) -> int:
        return max(self.bytes_before - self.bytes_after, 0)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bytes_freed": self.bytes_freed}


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
    """Administration of one agent-memory file. Read-only methods never create the file."""

    def __init__(self, db_path: str, max_messages: int = 200, retention_days: int = 7):
        self.db_path = str(db_path)
        self.max_messages = max_messages
        self.retention_days = retention_days

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionManager:
        return cls(
            settings.agent_session_db_path,
            settings.agent_session_max_messages,
            settings.agent_session_retention_days,
        )

    @property
    def exists(self) -> bool:
        return self.db_path != ":memory:" and Path(self.db_path).exists()

    # --- plumbing -------------------------------------------------------------------------

    def _read(self, operation: Callable[[sqlite3.Connection], T], empty: T) -> T:
        """Run a read on the file, or return `empty` when there is no file (or no tables yet)."""
        if not self.exists:
            return empty

        def run() -> T:
            with closing(memory_store.connect(self.db_path, readonly=True)) as conn:
                try:
                    return operation(conn)
                except sqlite3.OperationalError as exc:
                    if "no such table" in str(exc):
                        return empty
                    raise

        return self._guarded(lambda: retry_locked(run))

    def _write(self, operation: Callable[[sqlite3.Connection], T], empty: T) -> T:
        """Run a write on an existing file (our indexes first); no file means nothing to do."""
        if not self.exists:
            return empty

        def run() -> T:
            with closing(memory_store.connect(self.db_path)) as conn:
                memory_store.ensure_schema(conn)
                return operation(conn)

        return self._guarded(lambda: retry_locked(run))

    def _guarded(self, operation: Callable[[], T]) -> T:
        """Turn what SQLite and the file system raise into one actionable `MemoryStoreError`."""
        try:
            return operation()
        except sqlite3.OperationalError as exc:
            raise MemoryStoreError(f"agent memory {self.db_path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise MemoryStoreError(
                f"agent memory {self.db_path} is unreadable ({exc}); "
                "`todochat sessions repair --move-aside` sets it aside"
            ) from None
        except OSError as exc:
            raise MemoryStoreError(f"agent memory {self.db_path}: {exc.strerror or exc}") from None

    # --- the spec's API ---------------------------------------------------------------------

    async def get_session_stats(self, session_id: str) -> dict[str, Any]:
        """Counts by kind, bytes and times of one session; unknown is all zeros and None."""
        return await asyncio.to_thread(
            self._read,
            lambda c: memory_store.session_stats(c, session_id),
            memory_store.empty_session_stats(),
        )

    async def prune_session_messages(self, session_id: str) -> int:
        """Trim to the newest `max_messages` items at a turn start; the number deleted."""
        return await asyncio.to_thread(
            self._write, lambda c: memory_store.prune_session(c, session_id, self.max_messages), 0
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
            self._write, lambda c: memory_store.delete_session(c, session_id), 0
        )

    async def cleanup_inactive_sessions(self) -> int:
        """Delete sessions idle for longer than `retention_days`; the number deleted."""
        return (await self.cleanup()).sessions

    async def get_active_session_count(self) -> int:
        """Sessions written to within `retention_days`."""
        return await asyncio.to_thread(
            self._read, lambda c: memory_store.active_session_count(c, self.retention_days), 0
        )

    async def get_average_messages_per_session(self) -> float:
        return await asyncio.to_thread(self._read, memory_store.average_items_per_session, 0.0)

    async def list_sessions(self, prefix: str = "") -> list[SessionRow]:
        """Sessions whose id starts with `prefix` (all when empty), most recent first."""
        return await asyncio.to_thread(
            self._read, lambda c: memory_store.list_sessions(c, prefix), []
        )

    # --- monitoring -------------------------------------------------------------------------

    def database_size(self) -> int:
        """Bytes on disk: the file plus its write-ahead log."""
        return self._size(self.db_path) + self.wal_size()

    def wal_size(self) -> int:
        return self._size(f"{self.db_path}-wal")

    def _size(self, path: str) -> int:
        if self.db_path == ":memory:" or not Path(path).exists():
            return 0
        return Path(path).stat().st_size

    async def totals(self, largest: int = 5, prefix: str = "") -> dict[str, Any]:
        """File-wide figures with the spec's alert thresholds flagged.

        `largest_sessions` holds `SessionRow`s (they carry session ids, so they are not JSON:
        callers describe them as conversations) of sessions whose id starts with `prefix`.
        """
        with closing(_empty_connection()) as conn:
            empty = memory_store.totals(conn, self.retention_days, largest)
        figures = await asyncio.to_thread(
            self._read,
            lambda c: memory_store.totals(c, self.retention_days, largest, prefix=prefix),
            empty,
        )
        database, wal = self.database_size(), self.wal_size()
        figures.update(
            database_bytes=database,
            wal_bytes=wal,
            file_exists=self.exists,
            alerts={
                "database_size": database > ALERT_DATABASE_BYTES,
                "active_sessions": figures["active_sessions"] > ALERT_ACTIVE_SESSIONS,
            },
        )
        return figures

    # --- repair -----------------------------------------------------------------------------

    async def repair(self) -> RepairReport:
        """Run SQLite's quick check; when the file is sound, delete corrupt items."""
        if not self.exists:
            return RepairReport(file_exists=False)
        return await asyncio.to_thread(self._guarded, self._repair)

    def _repair(self) -> RepairReport:
        conn = None
        try:
            conn = memory_store.connect(self.db_path)
            check = memory_store.quick_check(conn)
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.OperationalError):
                raise
            return RepairReport(check=[str(exc)])  # not a database at all
        with closing(conn):
            if check != ["ok"]:
                return RepairReport(check=check)
            retry_locked(lambda: memory_store.ensure_schema(conn))
            removed = retry_locked(lambda: memory_store.remove_corrupt_items(conn))
        return RepairReport(removed=removed, check=check)

    def move_aside(self) -> Path | None:
        """Set a damaged file aside as `<name>.corrupt-<UTC time>`; chats rebuild from the log."""
        from todochat.agent.recovery import move_aside

        return move_aside(self.db_path) if self.exists else None

    # --- cleanup ----------------------------------------------------------------------------

    async def cleanup(
        self,
        *,
        older_than_days: int | None = None,
        dry_run: bool = False,
        vacuum: bool = False,
        lock_wait: float = LOCK_WAIT_SECONDS,
        now: str = "now",
    ) -> CleanupReport:
        """Expire idle sessions and orphaned items in short batches, then give space back.

        `now` (SQLite time text) exists for tests at the exact retention boundary. When
        another cleanup holds the lock for longer than `lock_wait`, nothing is done and the
        report says so.
        """
        days = self.retention_days if older_than_days is None else older_than_days
        return await asyncio.to_thread(
            self._guarded, lambda: self._cleanup(days, dry_run, vacuum, lock_wait, now)
        )

    def _cleanup(
        self, days: int, dry_run: bool, vacuum: bool, lock_wait: float, now: str
    ) -> CleanupReport:
        started = time.monotonic()
        report = CleanupReport(retention_days=days, dry_run=dry_run, file_exists=self.exists)
        report.bytes_before = report.bytes_after = self.database_size()
        if not self.exists:
            return report
        with cleanup_lock(self.db_path, lock_wait) as acquired:
            if not acquired:
                report.another_run_active = True
                return report
            self._guarded(lambda: self._cleanup_locked(report, days, vacuum, now))
        report.bytes_after = self.database_size()
        report.seconds = time.monotonic() - started
        return report

    def _cleanup_locked(self, report: CleanupReport, days: int, vacuum: bool, now: str) -> None:
        if report.dry_run:
            with closing(memory_store.connect(self.db_path, readonly=True)) as conn:
                _count_due(conn, report, days, now)
            return
        with closing(memory_store.connect(self.db_path)) as conn:
            retry_locked(lambda: memory_store.ensure_schema(conn))
            _expire(conn, report, days, now)
            _delete_orphans(conn, report)
            if vacuum:
                retry_locked(lambda: memory_store.vacuum(conn))
                report.vacuumed = True
            else:
                _release_free_pages(conn, report)
            retry_locked(lambda: memory_store.checkpoint_truncate(conn))


def _count_due(conn: sqlite3.Connection, report: CleanupReport, days: int, now: str) -> None:
    try:
        report.sessions = len(memory_store.stale_session_ids(conn, days, None, now))
        report.items = memory_store.stale_item_count(conn, days, now)
        report.orphan_items = len(memory_store.orphan_item_ids(conn, None))
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise


def _expire(conn: sqlite3.Connection, report: CleanupReport, days: int, now: str) -> None:
    """Delete stale sessions batch by batch; each batch is one short write transaction."""
    while candidates := memory_store.stale_sessions(conn, days, BATCH_SESSIONS, now):
        for batch in _batches(candidates, BATCH_ITEMS):
            if len(batch) == 1 and batch[0][1] > BATCH_ITEMS:
                result = retry_locked(
                    lambda sid=batch[0][0]: memory_store.trim_stale_session(
                        conn, sid, days, BATCH_ITEMS, now
                    )
                )
            else:
                ids = [sid for sid, _ in batch]
                result = retry_locked(
                    lambda ids=ids: memory_store.expire_batch(conn, ids, days, now)
                )
            report.sessions += result.sessions
            report.items += result.items
            report.kept += result.kept
            _count_batch(report, result.held_seconds)


def _batches(candidates: list[tuple[str, int]], max_items: int) -> Iterator[list[tuple[str, int]]]:
    """Group (session, items) so that a batch holds at most `max_items` items (or one session)."""
    batch: list[tuple[str, int]] = []
    size = 0
    for candidate in candidates:
        if batch and size + candidate[1] > max_items:
            yield batch
            batch, size = [], 0
        batch.append(candidate)
        size += candidate[1]
    if batch:
        yield batch


def _delete_orphans(conn: sqlite3.Connection, report: CleanupReport) -> None:
    while ids := memory_store.orphan_item_ids(conn, ORPHAN_BATCH):
        started = time.perf_counter()
        deleted = retry_locked(lambda ids=ids: memory_store.delete_orphans(conn, ids))
        _count_batch(report, time.perf_counter() - started)
        report.orphan_items += deleted
        if deleted == 0:
            return


def _release_free_pages(conn: sqlite3.Connection, report: CleanupReport) -> None:
    """Give free pages back in steps, each its own short transaction."""
    while True:
        started = time.perf_counter()
        released = retry_locked(lambda: memory_store.release_free_pages(conn, FREE_PAGE_STEP))
        if released <= 0:
            return
        _count_batch(report, time.perf_counter() - started)


def _count_batch(report: CleanupReport, seconds: float) -> None:
    """Record a write transaction, then step aside for as long as it held the lock.

    SQLite's busy handler is not fair: a chat turn that found the lock taken sleeps in
    growing steps, and back-to-back batches would starve it. The pause lets it in.
    """
    report.batches += 1
    report.max_batch_ms = max(report.max_batch_ms, seconds * 1000)
    time.sleep(min(max(seconds, MIN_PAUSE), MAX_PAUSE))


@contextmanager
def cleanup_lock(db_path: str, wait: float) -> Iterator[bool]:
    """An advisory lock beside the file so that two cleanups never run at once.

    Yields False when another process still holds it after `wait` seconds.
    """
    fd = os.open(f"{db_path}.cleanup-lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _empty_connection() -> sqlite3.Connection:
    """An in-memory file with the schema: the figures of a file that does not exist yet."""
    conn = memory_store.connect(":memory:")
    memory_store.ensure_schema(conn)
    return conn
