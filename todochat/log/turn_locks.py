"""One turn at a time per conversation on every machine: a PostgreSQL advisory lock.

Machines sharing one PostgreSQL database each have their own memory file and lock folder, so
a file lock cannot order their turns. A session-level advisory lock, held on a connection of
its own for the turn, can: the server frees it when that connection ends, so a process that
dies (kill -9, a crash) releases it; server-side keepalives end the connection of a machine
that vanished (network gone, laptop closed) within about half a minute.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from todochat.db.engine import Database, _first_line
from todochat.errors import AppDatabaseError

# The two-key form of advisory locks: (our namespace, the conversation). Its key space is
# apart from the one-key form the migrations lock uses.
NAMESPACE = 0x7DC0_7A11
POLL_SECONDS = 0.05
TRY_LOCK = text("SELECT pg_try_advisory_lock(:namespace, :key)")
# The first try also sets, for this connection, the seconds of silence before the server
# probes it, between probes, and the probes lost before it drops the connection (and so the
# lock): 10 + 5 * 3 = 25 s. One round trip.
FIRST_TRY = text(
    "SELECT set_config('tcp_keepalives_idle', '10', false), "
    "set_config('tcp_keepalives_interval', '5', false), "
    "set_config('tcp_keepalives_count', '3', false), "
    "pg_try_advisory_lock(:namespace, :key)"
)
UNLOCK = text("SELECT pg_advisory_unlock(:namespace, :key)")
# Turns of one process holding their lock at once. Each holds a pooled connection for the lock
# and takes another now and then (its writes, in worker threads); with more turns than the
# pool has connections, every connection is a lock's and every turn waits for a second one
# (a server with 50 clients stopped so). 8 turns need at most 16 of the pool's 30.
TURNS_AT_ONCE = 8
_slots: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def turn_slots() -> asyncio.Semaphore:
    """This event loop's turn slots (a semaphore belongs to one loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(TURNS_AT_ONCE)
    return _slots[loop]


def lock_key(conversation_id: uuid.UUID) -> int:
    """A signed 32-bit key from the conversation id (two conversations may share one: then
    their turns wait for each other, nothing worse)."""
    value = conversation_id.int & 0xFFFF_FFFF
    return value - (1 << 32) if value >= 1 << 31 else value


@asynccontextmanager
async def conversation_turn(
    database: Database, conversation_id: uuid.UUID, on_wait: Callable[[], None] | None = None
) -> AsyncIterator[Connection]:
    """Hold this conversation's turn lock, waiting (cancellably) while another holds it.

    `on_wait` is called once if the lock is taken when we arrive. Yields the lock's own
    connection (autocommit), free for reads that need no transaction.
    """
    keys = {"namespace": NAMESPACE, "key": lock_key(conversation_id)}
    async with turn_slots():
        conn = _dedicated_connection(database)
        held = False
        try:
            held = _try_lock(conn, FIRST_TRY, keys)
            if not held and on_wait is not None:
                on_wait()
            while not held:
                await asyncio.sleep(POLL_SECONDS)
                held = _try_lock(conn, TRY_LOCK, keys)
            yield conn
        finally:
            _release(conn, keys, held)


def _dedicated_connection(database: Database) -> Connection:
    """A pooled connection, ours alone until the turn ends, outside any transaction."""
    try:
        return database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except DBAPIError as exc:
        raise AppDatabaseError(f"app database error: {_first_line(exc)}") from None


def _try_lock(conn: Connection, statement, keys: dict[str, int]) -> bool:
    try:
        return bool(conn.execute(statement, keys).one()[-1])
    except DBAPIError as exc:
        raise AppDatabaseError(f"app database error: {_first_line(exc)}") from None


def _release(conn: Connection, keys: dict[str, int], held: bool) -> None:
    """Unlock and give the connection back; a connection in doubt is closed (which unlocks)."""
    try:
        if held:
            conn.execute(UNLOCK, keys)
    except DBAPIError:
        conn.invalidate()
    finally:
        conn.close()
