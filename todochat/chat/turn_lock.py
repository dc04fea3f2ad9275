"""One turn at a time per conversation, across processes.

Two REPLs on one conversation would otherwise interleave their items in agent memory, and
"that task" in one would resolve to the other's task. Locks are `flock`s on a small, fixed
set of files beside agent memory (a conversation hashes to one of them), polled so that
Ctrl-C can still cancel a turn that waits.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from todochat.errors import MemoryStoreError

BUCKETS = 64
POLL_SECONDS = 0.05


def lock_dir(agent_session_db_path: str, data_dir: str) -> Path:
    base = (
        Path(data_dir)
        if agent_session_db_path == ":memory:"
        else Path(agent_session_db_path).parent
    )
    return base / "locks"


@asynccontextmanager
async def conversation_turn(directory: Path, conversation_id: uuid.UUID) -> AsyncIterator[None]:
    """Hold the conversation's turn lock; waits (cancellably) while another process has it."""
    path = directory / f"turn-{conversation_id.int % BUCKETS:02d}.lock"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise MemoryStoreError(f"cannot create the turn lock {path}: {exc.strerror}") from None
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
