"""Expiry for cron: idle sessions and orphaned items deleted in short, paced transactions.

Safe next to running chats: each write transaction holds SQLite's lock about `HOLD_SECONDS`
and is followed by a pause a waiting chat turn always meets, so a turn never waits long and
never sees "database is locked". Two cleanups never overlap (`locks.cleanup_lock`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from todochat.errors import MemoryStoreError, memory_failure
from todochat.memory import store
from todochat.memory.locks import cleanup_lock, retry_locked

T = TypeVar("T")

# The cleanup schedule (measured with `python -m bench --case 4 --case 18`): write
# transactions that hold the lock about HOLD_SECONDS, commit included, each followed by a
# pause. SQLite's busy handler (Python's default) polls after sleeping 1, 2, 5, 10, 15, 20,
# 25, 25, 25, 50 ms, so a chat turn that found the lock taken polls at least every 25 ms
# during its first 128 ms: a pause of PAUSE_SECONDS (> 25 ms) meets one of its polls, and it
# waits about one batch. When a turn does get in, the pause ends once the file has been quiet
# a little (`_Pauses.after`). Pausing as long as each batch held the lock, as before, made
# cleanup at least twice as slow as one big delete.
#
# On a busy machine those moments come late: a waiting turn's poll wakes late, and a
# batch's commit takes longer. So the schedule follows what it observes: a pause offers
# more time by how late its own sleeps woke in the last few pauses (at most
# MAX_LATENESS_SECONDS), and a batch (deleting, or giving pages back) stops early enough to
# leave its commit the time the slowest recent commit took. At the end the log is copied
# into the file while turns go on writing, before the truncation that keeps them out.
HOLD_SECONDS = 0.050
PAUSE_SECONDS = 0.027
QUIET_SECONDS = 0.008
MAX_PAUSE_SECONDS = 0.060
POLL_SECONDS = 0.002
MAX_LATENESS_SECONDS = 0.030
RECENT = 8  # pauses (or commits) whose worst case the next one allows for
CHECKPOINT_IDLE_SECONDS = 0.05
DRAIN_ROUNDS = 5  # passive checkpoints at most before the truncating one
# A batch (expiry or release) stops working once this is spent (its commit follows), or
# earlier when recent commits took longer than HOLD_SECONDS - BUDGET_SECONDS; never below
# MIN_BUDGET_SECONDS.
BUDGET_SECONDS = 0.038
MIN_BUDGET_SECONDS = 0.020
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
        store.tune_for_bulk_writes(conn)
        retry_locked(lambda: store.ensure_schema(conn))
        retry_locked(lambda: store.normalize_times(conn, now))
        with _checkpointing(db_path) as checkpointer:
            pause = _Pauses(conn, report, checkpointer)
            _expire(conn, pause, days, now)
            _delete_orphans(conn, pause)
            if vacuum:
                retry_locked(lambda: store.vacuum(conn))
                report.vacuumed = True
            else:
                _release_free_pages(conn, pause)
        _drain_log(conn)
        retry_locked(lambda: store.checkpoint_truncate(conn))


def _drain_log(conn: sqlite3.Connection) -> None:
    """Copy the write-ahead log into the file without keeping chat turns out, before truncating.

    A truncating checkpoint keeps writers out while it copies. The checkpoint thread yields
    the CPU to everyone else, so on a busy machine it falls behind, and the truncation
    copying that backlog stalled a chat turn for about a second. Passive rounds copy it
    first while turns go on writing; the truncation then has next to nothing left to copy.
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


def _expire(conn: sqlite3.Connection, pause: _Pauses, days: int, now: str) -> None:
    """Delete stale sessions in write transactions of about `HOLD_SECONDS` each."""
    size = _Pacer(FIRST_BATCH_ITEMS, MAX_BATCH_ITEMS)
    while candidates := store.stale_sessions(conn, days, CANDIDATES, now):
        while candidates:
            batch, rest = _take(candidates, size.current)
            if len(batch) == 1 and batch[0][1] > size.current:
                result = retry_locked(
                    lambda sid=batch[0][0], n=size.current: store.trim_stale_session(
                        conn, sid, days, n, now
                    )
                )
                # Re-read the candidates: what is left of this session comes back with them.
                candidates = rest if result.kept else []
            else:
                ids = [sid for sid, _ in batch]
                result = retry_locked(
                    lambda ids=ids: store.expire_batch(conn, ids, days, now, size.budget)
                )
                candidates = batch[result.sessions + result.kept :] + rest
            pause.report.sessions += result.sessions
            pause.report.items += result.items
            pause.report.kept += result.kept
            size.record(result.held_seconds, result.commit_seconds)
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
    """A batch size, and a deleting budget, that follow the measured lock hold toward `target`.

    The size grows by at most a quarter and shrinks by up to three quarters per batch, so it
    approaches the target from below and one slow batch (a busy disk) pulls it back fast.
    The budget bounds a batch by time however slowly it deletes (a busy CPU); it leaves the
    commit as long as the slowest of the last `RECENT` commits took, so that the whole
    hold, commit included, stays near the target.
    """

    def __init__(self, first: int, largest: int, target: float = HOLD_SECONDS):
        self.current, self.largest, self.target = first, largest, target
        self.commits: deque[float] = deque(maxlen=RECENT)

    @property
    def budget(self) -> float:
        committing = max(self.commits, default=0.0)
        return min(BUDGET_SECONDS, max(self.target - committing, MIN_BUDGET_SECONDS))

    def record(self, held: float, committing: float = 0.0) -> None:
        factor = min(max(self.target / held, 0.25), 1.25) if held > 0 else 1.25
        self.current = max(1, min(int(self.current * factor), self.largest))
        self.commits.append(committing)


def _delete_orphans(conn: sqlite3.Connection, pause: _Pauses) -> None:
    while ids := store.orphan_item_ids(conn, ORPHAN_BATCH):
        started = time.perf_counter()
        deleted = retry_locked(lambda ids=ids: store.delete_orphans(conn, ids))
        pause.after(time.perf_counter() - started)
        pause.report.orphan_items += deleted
        if deleted == 0:
            return


def _release_free_pages(conn: sqlite3.Connection, pause: _Pauses) -> None:
    """Give free pages back in steps, each its own short transaction, until none is left.

    Steps are bounded by time as expiry batches are (`_Pacer.budget`). The step that empties
    the free list is the last: pages that chat turns free meanwhile are left for the next
    cleanup, so a chat that keeps pruning cannot keep this one going.
    """
    # Moving pages costs less evenly than deleting rows (pages not in memory are read from
    # the disk), which the time bound absorbs: a step aims at the same hold as a batch.
    step = _Pacer(FIRST_FREE_PAGE_STEP, MAX_FREE_PAGE_STEP)
    while True:
        result = retry_locked(lambda: store.release_free_pages(conn, step.current, step.budget))
        if result.released <= 0:
            return
        step.record(result.held_seconds, result.commit_seconds)
        pause.after(result.held_seconds)
        if result.left == 0:
            return


@dataclass
class _Pauses:
    """What happens between two write transactions of a cleanup."""

    conn: sqlite3.Connection
    report: CleanupReport
    checkpointer: _Checkpointer
    # How late the pause's sleeps woke, worst of each of the last few pauses.
    lateness: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT))

    def after(self, held: float) -> None:
        """Record a write transaction, then leave the lock free for a while.

        Nobody committing: `PAUSE_SECONDS` are offered (a waiting turn's next poll falls
        within them). Someone committing: a turn got in, and its second transaction (it
        writes its items, then prunes) may be a few milliseconds behind, so the pause lasts
        until the file has been quiet for `QUIET_SECONDS`, however early or late in the
        pause that is, within `MAX_PAUSE_SECONDS`.

        The offer and the limit stretch by how late this process's own short sleeps woke in
        the last `RECENT` pauses: a waiting turn's poll wakes as late, and one that misses
        the pause next polls only after 50 ms, then 100 ms (measured under a CPU-busy
        neighbour: most turns stalled past 150 ms had missed a pause). The quiet time does
        not stretch: chat turns can follow each other closely, and a pause that waited for
        a quiet that never came would hold the cleanup up to its limit every time.
        """
        self.report.batches += 1
        self.report.max_batch_ms = max(self.report.max_batch_ms, held * 1000)
        self.checkpointer.kick()
        slack = min(max(self.lateness, default=0.0), MAX_LATENESS_SECONDS)
        offer, longest = PAUSE_SECONDS + slack, MAX_PAUSE_SECONDS + slack
        started = time.perf_counter()
        version, last_change, latest = store.data_version(self.conn), None, 0.0
        while True:
            asleep = time.perf_counter()
            time.sleep(POLL_SECONDS)
            woke = time.perf_counter()
            latest = max(latest, woke - asleep - POLL_SECONDS)
            now = woke - started
            current = store.data_version(self.conn)
            if current != version:
                version, last_change = current, now
            if (
                (last_change is None and now >= offer)
                or (last_change is not None and now - last_change >= QUIET_SECONDS)
                or now >= longest
            ):
                self.lateness.append(latest)
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
        with closing(store.connect(self.db_path)) as conn:
            while not self.stopping:
                self.wanted.wait(CHECKPOINT_IDLE_SECONDS)
                self.wanted.clear()
                try:
                    store.checkpoint_passive(conn)
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
