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
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, suppress
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
# The cleanup schedule (measured with `python -m bench --case 4`): write transactions that
# hold the lock about HOLD_SECONDS, each followed by a pause. SQLite's busy handler
# (Python's default) polls after sleeping 1, 2, 5, 10, 15, 20, 25, 25, 25, 50 ms, so a chat
# turn that found the lock taken polls at least every 25 ms during its first 128 ms: a
# pause of PAUSE_SECONDS (> 25 ms) always meets one of its polls, and it waits about one
# batch. When a turn does get in, the pause ends once the file has been quiet a little
# (`_Pauses.after`). Pausing as long as each batch held the lock, as before, made cleanup
# at least twice as slow as one big delete.
HOLD_SECONDS = 0.050
RELEASE_HOLD_SECONDS = 0.035
PAUSE_SECONDS = 0.027
QUIET_SECONDS = 0.008
MAX_PAUSE_SECONDS = 0.060
POLL_SECONDS = 0.002
CHECKPOINT_IDLE_SECONDS = 0.05
# An expiry transaction stops deleting once this is spent (its commit follows).
BUDGET_SECONDS = 0.038
# Batch sizes start here and follow the measured hold time (items, or pages to release).
FIRST_BATCH_ITEMS = 5000
MAX_BATCH_ITEMS = 50_000
FIRST_FREE_PAGE_STEP = 1024
MAX_FREE_PAGE_STEP = 32_768
CANDIDATES = 2000
ORPHAN_BATCH = 1000
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
            empty = memory_store.totals(conn, self.retention_days, largest)
        # The item count (a tenth of a second on 2,000,000 items) runs on a second connection
        # beside the other reads.
        items, figures = await asyncio.gather(
            asyncio.to_thread(self._read, memory_store.item_count, 0),
            asyncio.to_thread(
                self._read,
                lambda c: memory_store.totals(
                    c, self.retention_days, largest, prefix=prefix, items=0
                ),
                empty,
            ),
        )
        sessions = figures["sessions"]
        figures.update(items=items, average_items_per_session=items / sessions if sessions else 0.0)
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

    async def measure_corrupt_items(self) -> int | None:
        """Count corrupt items now (a full scan) and record the count with its time."""
        return await asyncio.to_thread(self._write, memory_store.measure_corrupt_items, None)

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
            started = memory_store.sqlite_now(conn)
            removed = retry_locked(lambda: memory_store.remove_corrupt_items(conn))
            # The scan read every row: what it found corrupt is gone, so none are left as of
            # its start (rows written meanwhile are the next measurement's).
            retry_locked(lambda: memory_store.record_measurement(conn, "corrupt_items", 0, started))
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
            _count_due(self.db_path, report, days, now)
            return
        with closing(memory_store.connect(self.db_path)) as conn:
            memory_store.tune_for_bulk_writes(conn)
            retry_locked(lambda: memory_store.ensure_schema(conn))
            with _checkpointing(self.db_path) as checkpointer:
                pause = _Pauses(conn, report, checkpointer)
                _expire(conn, pause, days, now)
                _delete_orphans(conn, pause)
                if vacuum:
                    retry_locked(lambda: memory_store.vacuum(conn))
                    report.vacuumed = True
                else:
                    _release_free_pages(conn, pause)
            retry_locked(lambda: memory_store.checkpoint_truncate(conn))


def _count_due(db_path: str, report: CleanupReport, days: int, now: str) -> None:
    """What a cleanup would delete, counted on three connections at once.

    Counting the items of the stale sessions reads about half the index (a tenth of a
    second on 2,000,000 items), so its two halves (split at the middle stale session id)
    and the orphan count run side by side.
    """

    def read(operation: Callable[[sqlite3.Connection], T]) -> T:
        with closing(memory_store.connect(db_path, readonly=True)) as conn:
            return operation(conn)

    try:
        stale = read(lambda c: memory_store.stale_session_ids(c, days, None, now))
        middle = sorted(stale)[len(stale) // 2] if stale else None
        with ThreadPoolExecutor(2) as pool:
            halves = [
                pool.submit(
                    read, lambda c, part=part: memory_store.stale_item_count(c, days, now, *part)
                )
                for part in ((None, middle), (middle, None))
            ]
            report.orphan_items = read(memory_store.orphan_item_count)
            report.items = sum(half.result() for half in halves)
        report.sessions = len(stale)
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise


def _expire(conn: sqlite3.Connection, pause: _Pauses, days: int, now: str) -> None:
    """Delete stale sessions in write transactions of about `HOLD_SECONDS` each."""
    size = _Pacer(FIRST_BATCH_ITEMS, MAX_BATCH_ITEMS)
    while candidates := memory_store.stale_sessions(conn, days, CANDIDATES, now):
        while candidates:
            batch, rest = _take(candidates, size.current)
            if len(batch) == 1 and batch[0][1] > size.current:
                result = retry_locked(
                    lambda sid=batch[0][0], n=size.current: memory_store.trim_stale_session(
                        conn, sid, days, n, now
                    )
                )
                # Re-read the candidates: what is left of this session comes back with them.
                candidates = rest if result.kept else []
            else:
                ids = [sid for sid, _ in batch]
                result = retry_locked(
                    lambda ids=ids: memory_store.expire_batch(conn, ids, days, now, BUDGET_SECONDS)
                )
                candidates = batch[result.sessions + result.kept :] + rest
            pause.report.sessions += result.sessions
            pause.report.items += result.items
            pause.report.kept += result.kept
            size.record(result.held_seconds)
            pause.after(result.held_seconds)


def _take(
    candidates: list[tuple[str, int]], max_items: int
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The first candidates holding at most `max_items` items (at least one), and the rest."""
    size = 0
    for n, (_, items) in enumerate(candidates):
        if n and size + items > max_items:
            return candidates[:n], candidates[n:]
        size += items
    return candidates, []


class _Pacer:
    """A batch size that follows the measured lock hold toward `HOLD_SECONDS`.

    It grows by at most a quarter and shrinks by up to three quarters per batch, so it
    approaches the target from below and one slow batch (a busy disk) pulls it back fast.
    """

    def __init__(self, first: int, largest: int, target: float = HOLD_SECONDS):
        self.current, self.largest, self.target = first, largest, target

    def record(self, held: float) -> None:
        factor = min(max(self.target / held, 0.25), 1.25) if held > 0 else 1.25
        self.current = max(1, min(int(self.current * factor), self.largest))


def _delete_orphans(conn: sqlite3.Connection, pause: _Pauses) -> None:
    while ids := memory_store.orphan_item_ids(conn, ORPHAN_BATCH):
        started = time.perf_counter()
        deleted = retry_locked(lambda ids=ids: memory_store.delete_orphans(conn, ids))
        pause.after(time.perf_counter() - started)
        pause.report.orphan_items += deleted
        if deleted == 0:
            return


def _release_free_pages(conn: sqlite3.Connection, pause: _Pauses) -> None:
    """Give free pages back in steps, each its own short transaction."""
    # Moving pages costs less evenly than deleting rows: aim lower so the odd slow step
    # stays well within a chat turn's patience.
    step = _Pacer(FIRST_FREE_PAGE_STEP, MAX_FREE_PAGE_STEP, RELEASE_HOLD_SECONDS)
    while True:
        started = time.perf_counter()
        released = retry_locked(lambda: memory_store.release_free_pages(conn, step.current))
        if released <= 0:
            return
        held = time.perf_counter() - started
        step.record(held)
        pause.after(held)


@dataclass
class _Pauses:
    """What happens between two write transactions of a cleanup."""

    conn: sqlite3.Connection
    report: CleanupReport
    checkpointer: _Checkpointer

    def after(self, held: float) -> None:
        """Record a write transaction, then leave the lock free for a while.

        Nobody committing: the full `PAUSE_SECONDS` are offered (a waiting turn's next poll
        falls within them). Someone committing: a turn got in, and its second transaction
        (it writes its items, then prunes) may be a few milliseconds behind, so the pause
        lasts until the file has been quiet for `QUIET_SECONDS`, however early or late in
        the pause that is, within `MAX_PAUSE_SECONDS`.
        """
        self.report.batches += 1
        self.report.max_batch_ms = max(self.report.max_batch_ms, held * 1000)
        self.checkpointer.kick()
        started = time.perf_counter()
        version, last_change = memory_store.data_version(self.conn), None
        while True:
            time.sleep(POLL_SECONDS)
            now = time.perf_counter() - started
            current = memory_store.data_version(self.conn)
            if current != version:
                version, last_change = current, now
            if last_change is None and now >= PAUSE_SECONDS:
                return
            if last_change is not None and now - last_change >= QUIET_SECONDS:
                return
            if now >= MAX_PAUSE_SECONDS:
                return


class _Checkpointer:
    """Copies the write-ahead log into the file from a second thread, on request.

    A passive checkpoint takes no write lock, so it overlaps the pauses and the next batch
    instead of adding to them. It is started the moment a batch commits: SQLite has the
    next committer copy what the log holds, and the next committer is the chat turn that
    waited for that batch. With our checkpoint running, its commit skips that work.
    """

    def __init__(self, db_path: str):
        self.db_path = db_path
        self.wanted = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="todochat-checkpoint", daemon=True)

    def kick(self) -> None:
        self.wanted.set()

    def _run(self) -> None:
        # Copying the log can wait; a chat turn waiting for the CPU cannot.
        with suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        with closing(memory_store.connect(self.db_path)) as conn:
            while not self.stopping:
                self.wanted.wait(CHECKPOINT_IDLE_SECONDS)
                self.wanted.clear()
                try:
                    memory_store.checkpoint_passive(conn)
                except sqlite3.OperationalError:
                    continue  # locked for a moment: the next round catches up


@contextmanager
def _checkpointing(db_path: str) -> Iterator[_Checkpointer]:
    checkpointer = _Checkpointer(db_path)
    checkpointer.thread.start()
    try:
        yield checkpointer
    finally:
        checkpointer.stopping = True
        checkpointer.kick()
        checkpointer.thread.join()


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
