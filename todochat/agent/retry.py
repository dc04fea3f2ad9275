"""One retry policy for "database is locked" on the agent-memory file, shared by every caller."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from todochat.errors import MemoryStoreError

T = TypeVar("T")

ATTEMPTS = 5
BASE_DELAY = 0.05


def is_locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()


def _delay(attempt: int) -> float:
    return BASE_DELAY * (2**attempt)


def retry_locked(operation: Callable[[], T], what: str = "agent memory") -> T:
    """Run `operation`, retrying with exponential backoff while SQLite reports a lock."""
    for attempt in range(ATTEMPTS):
        try:
            return operation()
        except sqlite3.OperationalError as exc:
            if not is_locked(exc):
                raise
            if attempt == ATTEMPTS - 1:
                raise MemoryStoreError(f"{what} is locked by another process; try again") from None
            time.sleep(_delay(attempt))
    raise AssertionError("unreachable")


async def retry_locked_async(
    operation: Callable[[], Awaitable[T]], what: str = "agent memory"
) -> T:
    """The async form of `retry_locked`: same attempts, same backoff."""
    for attempt in range(ATTEMPTS):
        try:
            return await operation()
        except sqlite3.OperationalError as exc:
            if not is_locked(exc):
                raise
            if attempt == ATTEMPTS - 1:
                raise MemoryStoreError(f"{what} is locked by another process; try again") from None
            await asyncio.sleep(_delay(attempt))
    raise AssertionError("unreachable")
