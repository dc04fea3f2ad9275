"""Locks around the agent-memory file: one `flock` helper and one retry policy.

Two kinds of lock keep writers apart. SQLite's own lock guards each transaction; when another
process holds it for long, `retry_locked` backs off and tries again, the same way for every
caller. Our `flock`s guard longer spans: one chat turn per conversation (so two terminals
never interleave items in one memory) and one cleanup at a time. Lock files live in a
folder named after the memory file (`agent_sessions.db.locks/`), so nothing we create
stands beside a file under a name that could be someone else's.

Hand-written rather than `filelock` and `tenacity`: see bench/README.md, "Libraries and
start-up cost".
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TypeVar

from todochat import private
from todochat.errors import MemoryStoreError

T = TypeVar("T")

ATTEMPTS = 5
BASE_DELAY = 0.05
POLL_SECONDS = 0.05


# --- SQLite's lock: one retry policy --------------------------------------------------------


def is_locked(exc: BaseException) -> bool:
    """SQLite's "database is locked" (or "database table is locked")."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()


def _delay(attempt: int) -> float:
    return BASE_DELAY * (2**attempt)


def retry_locked(operation: Callable[[], T]) -> T:
    """Run `operation`, retrying with exponential backoff while SQLite reports a lock.

    The last lock error is raised as it is: callers turn it into their one line with
    `errors.memory_failure`, which names the file.
    """
    for attempt in range(ATTEMPTS - 1):
        try:
            return operation()
        except sqlite3.OperationalError as exc:
            if not is_locked(exc):
                raise
            time.sleep(_delay(attempt))
    return operation()


async def retry_locked_async(operation: Callable[[], Awaitable[T]]) -> T:
    """The async form of `retry_locked`: same attempts, same backoff."""
    for attempt in range(ATTEMPTS - 1):
        try:
            return await operation()
        except sqlite3.OperationalError as exc:
            if not is_locked(exc):
                raise
            await asyncio.sleep(_delay(attempt))
    return await operation()


# --- our flocks -------------------------------------------------------------------------------


def lock_dir(memory_path: str) -> Path:
    """`<memory file>.locks/`: ours by its name, beside the memory file."""
    path = Path(memory_path)
    return path.with_name(f"{path.name}.locks")


def _open_lock(path: Path) -> int:
    try:
        return private.open_file(path, os.O_RDWR)
    except OSError as exc:
        raise MemoryStoreError(f"cannot create the lock {path}: {exc.strerror}") from None


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


@contextmanager
def file_lock(path: Path, wait: float) -> Iterator[bool]:
    """Hold an exclusive `flock` on `path`; yields False if still taken after `wait` seconds."""
    fd = _open_lock(path)
    try:
        deadline = time.monotonic() + wait
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                yield False
                return
            time.sleep(POLL_SECONDS)
        yield True
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@asynccontextmanager
async def conversation_turn(
    memory_path: str, conversation_id: uuid.UUID, on_wait: Callable[[], None] | None = None
) -> AsyncIterator[None]:
    """Hold this conversation's turn lock, waiting (cancellably) while another process has it.

    One lock file per conversation, so two users' turns never wait for each other.
    `on_wait` is called once if the lock is taken when we arrive.
    """
    fd = _open_lock(lock_dir(memory_path) / f"turn-{conversation_id}.lock")
    try:
        if not _try_lock(fd):
            if on_wait is not None:
                on_wait()
            while not _try_lock(fd):
                await asyncio.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(fd)


def cleanup_lock(memory_path: str, wait: float) -> contextmanager:
    """The lock that keeps two cleanups of one file from running at once."""
    return file_lock(_cleanup_lock_path(memory_path), wait)


def cleanup_running(memory_path: str) -> bool:
    """Whether a cleanup holds its lock now; the lock file is only opened if it exists."""
    try:
        fd = os.open(_cleanup_lock_path(memory_path), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # released at once, below
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _cleanup_lock_path(memory_path: str) -> Path:
    return lock_dir(memory_path) / "cleanup.lock"
