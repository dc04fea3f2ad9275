"""One turn at a time per conversation, wherever its turns can come from.

With a PostgreSQL app database every machine shares it, so the turn lock is an advisory lock
there (`db.turn_locks`); with SQLite only this machine's processes share the log, and a lock
file beside agent memory (`memory.locks`) orders them. A chat turn and `forget` take the same
lock, so a forget never interleaves with a turn of the conversation it removes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from todochat.db import turn_locks
from todochat.memory import locks, store

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from todochat.db import Database


def conversation_turn(
    database: Database,
    memory_path: str,
    conversation_id: uuid.UUID,
    on_wait: Callable[[], None] | None = None,
) -> AbstractAsyncContextManager[Connection | None]:
    """Hold the conversation's turn lock; yields the lock's PostgreSQL connection, or None."""
    if database.engine.dialect.name == "postgresql":
        return turn_locks.conversation_turn(database, conversation_id, on_wait)
    store.existing_file(memory_path)  # a file that is not ours: nothing created beside it
    return locks.conversation_turn(memory_path, conversation_id, on_wait)
