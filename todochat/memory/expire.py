"""Expiry for cron: idle sessions and orphaned items deleted in short, fixed batches.

Safe next to running chats: each write transaction deletes BATCH_SESSIONS stale sessions
(or ORPHAN_BATCH orphaned items, or gives FREE_PAGE_STEP free pages back) and is followed
by BATCH_PAUSE_SECONDS with the lock free, longer than SQLite's busy handler sleeps between
polls (at most 25 ms in a waiter's first 128 ms), so a waiting chat turn gets in between
two batches and never sees "database is locked". Two cleanups never overlap
(`locks.cleanup_lock`).

Simplest first, measured: this replaced an adaptive schedule (batch sizes and pauses that
followed the measured lock hold, commit times and sleep lateness; 18 tuning constants).
Run side by side, interleaved, 5 times (bench cases 4 and 18, bench/README.md "Cleanup:
fixed batches vs adaptive pacing"), the fixed batches stalled the turn writer less.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, suppress
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from todochat.errors import MemoryStoreError, memory_failure
from todochat.memory import store
from todochat.memory.locks import cleanup_lock, retry_locked

T = TypeVar("T")

BATCH_SESSIONS = 20
ORPHAN_BATCH = 1000
FREE_PAGE_STEP = 500
BATCH_PAUSE_SECONDS = 0.030
DRAIN_ROUNDS = 5  # passive checkpoints at most before the truncating one
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
    record_error: str | None = None  # why this run could not be recorded in the file

    @property
    def bytes_freed(self) -> int:
        return max(self.bytes_before - self.bytes_after, 0)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bytes_freed": self.bytes_freed}


def run(
    db_path: str, days: int, *, dry_run: bool, vacuum: bool, lock_wait: float, now: str
) -> CleanupReport:
    """Expire sessions idle over `days` days and orphaned items, then give space back.

    When another cleanup holds the lock for longer than `lock_wait`, nothing is done and the
    report says so; a write lock held elsewhere is waited for `lock_wait` seconds per try.
    Every run but a dry run is recorded in the file (`_Record`); a missing file is nothing
    to clean and is not created to record that. `now` (SQLite time text) exists for tests at
    the exact boundary.
    """
    started = time.monotonic()
    exists = store.existing_file(db_path)
    report = CleanupReport(retention_days=days, dry_run=dry_run, file_exists=exists)
    report.bytes_before = report.bytes_after = store.database_size(db_path)
    if not exists:
        return report
    record = None if dry_run else _Record.start(db_path, lock_wait)
    try:
        _run_locked(db_path, report, days, vacuum, lock_wait, now)
    except Exception as exc:
        if record is not None:
            report.bytes_after = store.database_size(db_path)  # what went before the failure
            record.end(report, "failed", exc)  # the run's own error is what is raised
        raise
    report.seconds = time.monotonic() - started
    if record is not None:
        outcome = "skipped" if report.another_run_active else "ok"
        report.record_error = record.end(report, outcome)
    return report


def _run_locked(
    db_path: str, report: CleanupReport, days: int, vacuum: bool, lock_wait: float, now: str
) -> None:
    try:
        with cleanup_lock(db_path, lock_wait) as acquired:
            if not acquired:
                report.another_run_active = True
                return
            if report.dry_run:
                _count_due(db_path, report, days, now)
            else:
                _clean(db_path, report, days, vacuum, lock_wait, now)
    except (sqlite3.Error, OSError) as exc:
        raise memory_failure(exc, db_path) from None
    report.bytes_after = store.database_size(db_path)


@dataclass
class _Record:
    """This run's row in the memory file. Recording never hides the run's own outcome.

    The start is one short transaction of its own before any work (one try: when the file
    is locked, the end adds the row whole), so a run killed midway is an attempt without an
    end. The end waits for the write lock as long as any write of ours does.
    """

    db_path: str
    started_at: float
    run_id: int | None = None

    @classmethod
    def start(cls, db_path: str, lock_wait: float) -> _Record:
        record = cls(db_path, time.time())
        with (
            suppress(sqlite3.Error, OSError),
            closing(store.connect(db_path, busy_seconds=lock_wait)) as conn,
        ):
            record.run_id = store.record_cleanup_start(conn, record.started_at)
        return record

    def end(
        self, report: CleanupReport, outcome: str, error: BaseException | None = None
    ) -> str | None:
        """Complete the row; why it could not be, or None."""
        row = store.CleanupRun(
            self.run_id,
            self.started_at,
            time.time(),
            outcome,
            _one_line(error),
            report.sessions,
            report.items,
            report.orphan_items,
            report.bytes_freed,
        )

        def write() -> None:
            with closing(store.connect(self.db_path)) as conn:
                store.record_cleanup_end(conn, row)
                if outcome == "ok":  # leave the write-ahead log empty, as the run did
                    store.checkpoint_truncate(conn)

        try:
            retry_locked(write)
        except (sqlite3.Error, OSError, MemoryStoreError) as exc:
            return str(memory_failure(exc, self.db_path))
        return None


def _one_line(error: BaseException | None) -> str | None:
    if error is None:
        return None
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:500]


def _clean(
    db_path: str, report: CleanupReport, days: int, vacuum: bool, lock_wait: float, now: str
) -> None:
    with closing(store.connect(db_path, busy_seconds=lock_wait)) as conn:
        retry_locked(lambda: store.ensure_schema(conn))
        retry_locked(lambda: store.normalize_times(conn, now))
        _expire(conn, report, days, now)
        _delete_orphans(conn, report)
        if vacuum:
            retry_locked(lambda: store.vacuum(conn))
            report.vacuumed = True
        else:
            _release_free_pages(conn, report)
        _drain_log(conn)
        retry_locked(lambda: store.checkpoint_truncate(conn))


def _expire(conn: sqlite3.Connection, report: CleanupReport, days: int, now: str) -> None:
    """A session touched since it was read is kept (`expire_batch` checks again)."""
    while ids := store.stale_session_ids(conn, days, BATCH_SESSIONS, now):
        result = retry_locked(lambda ids=ids: store.expire_batch(conn, ids, days, now))
        report.sessions += result.sessions
        report.items += result.items
        report.kept += result.kept
        _pause(report, result.held_seconds)


def _delete_orphans(conn: sqlite3.Connection, report: CleanupReport) -> None:
    while ids := store.orphan_item_ids(conn, ORPHAN_BATCH):
        started = time.perf_counter()
        deleted = retry_locked(lambda ids=ids: store.delete_orphans(conn, ids))
        report.orphan_items += deleted
        _pause(report, time.perf_counter() - started)
        if deleted == 0:
            return


def _release_free_pages(conn: sqlite3.Connection, report: CleanupReport) -> None:
    """Free pages back in steps; pages that turns free meanwhile wait for the next run."""
    while (result := retry_locked(lambda: store.release_free_pages(conn, FREE_PAGE_STEP))).released:
        _pause(report, result.held_seconds)
        if result.left == 0:
            return


def _pause(report: CleanupReport, held: float) -> None:
    """Count the batch, then leave the lock free for waiting chat turns."""
    report.batches += 1
    report.max_batch_ms = max(report.max_batch_ms, held * 1000)
    time.sleep(BATCH_PAUSE_SECONDS)


def _drain_log(conn: sqlite3.Connection) -> None:
    """Copy the write-ahead log into the file without keeping chat turns out, before truncating.

    A truncating checkpoint keeps writers out while it copies (a backlog of it once stalled a
    chat turn for about a second). Passive rounds copy it first while turns go on writing;
    the truncation then has next to nothing left to copy.
    """
    for _ in range(DRAIN_ROUNDS):
        if store.checkpoint_passive(conn) == 0:
            return


def _count_due(db_path: str, report: CleanupReport, days: int, now: str) -> None:
    """What a cleanup would delete, counted on three connections at once.

    Counting the items of the stale sessions reads about half the index (a tenth of a
    second on 2,000,000 items), so its two halves (split at the middle stale session id)
    and the orphan count run side by side.
    """

    def read(operation: Callable[[sqlite3.Connection], T]) -> T:
        with closing(store.connect(db_path, readonly=True)) as conn:
            return operation(conn)

    try:
        stale = read(lambda c: store.stale_session_ids(c, days, None, now))
        middle = sorted(stale)[len(stale) // 2] if stale else None
        with ThreadPoolExecutor(2) as pool:
            halves = [
                pool.submit(read, lambda c, part=part: store.stale_item_count(c, days, now, *part))
                for part in ((None, middle), (middle, None))
            ]
            report.orphan_items = read(store.orphan_item_count)
            report.items = sum(half.result() for half in halves)
        report.sessions = len(stale)
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
