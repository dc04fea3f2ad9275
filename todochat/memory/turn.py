"""What a chat turn needs of agent memory: open it (or recover it), repair it, rebuild it
from the log, and afterwards clean and prune it.

Memory is a cache of the durable log. A damaged file (a SQLite header, unreadable) is moved
aside; a file deleted, moved or replaced while a chat runs is noticed by its identity and
opened anew (mode 0600); an emptied memory is refilled from the log's newest whole turns.
One worker-thread trip and one connection do every turn's checks.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, closing
from typing import TYPE_CHECKING, Any, Protocol

from todochat.errors import MemoryStoreError, memory_failure
from todochat.memory import locks, store
from todochat.memory.sdk_session import get_session_id, open_sdk_session

if TYPE_CHECKING:
    from agents import SQLiteSession

    from todochat.memory.health import TurnClock

Notice = Callable[[str], None]


class LoggedMessage(Protocol):
    role: str
    content: str


class TurnMemory:
    """One user's agent memory as chat turns use it: an SDK session per conversation."""

    def __init__(self, configured_path: str, user_id: uuid.UUID, max_items: int, notice: Notice):
        self.path = store.usable_path(configured_path)
        self.user_id = user_id
        self.max_items = max_items
        self.notice = notice
        self._open: dict[uuid.UUID, tuple[SQLiteSession, tuple[int, int] | None]] = {}
        self._newest_before_turn: dict[uuid.UUID, int] = {}

    def turn_lock(
        self, conversation_id: uuid.UUID, on_wait: Callable[[], None] | None = None
    ) -> AbstractAsyncContextManager[None]:
        """One turn at a time per conversation, across processes (checks the file first)."""
        store.existing_file(self.path)  # a file that is not ours: nothing created beside it
        return locks.conversation_turn(self.path, conversation_id, on_wait)

    async def prepare(
        self, conversation_id: uuid.UUID, earlier_log: Callable[[], Sequence[LoggedMessage]]
    ) -> SQLiteSession:
        """This conversation's SDK session, ready for a turn; rebuilt from the log when empty.

        `earlier_log` gives the log's messages before this turn (after any explicit clear).
        """
        try:
            return await locks.retry_locked_async(
                lambda: self._prepare(conversation_id, earlier_log)
            )
        except (OSError, sqlite3.Error) as exc:
            raise memory_failure(exc, self.path) from None

    async def _prepare(
        self, conversation_id: uuid.UUID, earlier_log: Callable[[], Sequence[LoggedMessage]]
    ) -> SQLiteSession:
        memory, empty = await asyncio.to_thread(self._open_for_turn, conversation_id)
        if empty:
            items = items_from_log(earlier_log(), self.max_items - 1)
            if items:
                await memory.add_items(items)
                self.notice(f"Restored agent memory from the log ({len(items)} items).")
        return memory

    def _open_for_turn(self, conversation_id: uuid.UUID) -> tuple[SQLiteSession, bool]:
        session_id = get_session_id(self.user_id, conversation_id)
        store.ensure_file(self.path)
        try:
            newest = self._check(session_id)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise
            self._set_aside()
            newest = self._check(session_id)
        self._newest_before_turn[conversation_id] = newest
        return self._session(conversation_id, session_id), newest == 0

    def _check(self, session_id: str) -> int:
        """Read, touch (a cleanup running now keeps it) and repair; the newest item's id."""
        with closing(store.connect(self.path)) as conn:
            store.probe(conn, session_id)
            store.touch_session(conn, session_id)
            store.remove_corrupt_items(conn, session_id)
            # What is left is valid items only, so "no row" is "no item".
            return store.last_item_id(conn, session_id)

    def _set_aside(self) -> None:
        self.close()
        moved = store.move_aside(self.path)
        store.ensure_file(self.path)
        if moved is not None:
            self.notice(
                f"Agent memory was unreadable; moved it to {moved.name} and started afresh."
            )

    def _session(self, conversation_id: uuid.UUID, session_id: str) -> SQLiteSession:
        """The cached SDK session, unless the file was replaced since it was opened."""
        identity = store.file_identity(self.path)
        cached = self._open.get(conversation_id)
        if cached is not None and cached[1] == identity:
            return cached[0]
        if cached is not None:
            cached[0].close()
        memory = open_sdk_session(session_id, self.path, self.max_items)
        self._open[conversation_id] = (memory, identity)
        return memory

    def sdk_session(self, conversation_id: uuid.UUID) -> SQLiteSession:
        """This conversation's SDK session (the file is created if absent)."""
        store.ensure_file(self.path)
        return self._session(conversation_id, get_session_id(self.user_id, conversation_id))

    def finish(self, conversation_id: uuid.UUID, clock: TurnClock | None = None) -> int:
        """After a turn: make what the model sent storable text, then prune to whole turns.

        The turn's `clock` figures are recorded in the prune's transaction (no extra commit).
        A failure here (a full disk, a lock held for long) is one warning: the turn counts.
        Returns the items pruned.
        """
        session_id = get_session_id(self.user_id, conversation_id)
        after = self._newest_before_turn.pop(conversation_id, 0)

        def run() -> int:
            with closing(store.connect(self.path)) as conn:
                store.clean_items_after(conn, session_id, after)
                timing = clock.timing() if clock is not None else None
                return store.prune_session(conn, session_id, self.max_items, timing)

        try:
            return locks.retry_locked(run)
        except (OSError, sqlite3.Error, MemoryStoreError) as exc:
            failure = memory_failure(exc, self.path)
            self.notice(f"Warning: agent memory was not pruned ({failure}); the turn is saved.")
            return 0

    def close(self) -> None:
        for memory, _ in self._open.values():
            memory.close()
        self._open.clear()


def items_from_log(messages: Sequence[LoggedMessage], max_items: int) -> list[dict[str, Any]]:
    """Agent-memory items for the newest whole turns of the log that fit within `max_items`."""
    turns: list[list[dict[str, Any]]] = []
    for message in messages:
        if message.role == "user":
            turns.append([{"role": "user", "content": message.content}])
        elif turns:
            # The easy-input form is accepted by both the Responses and Chat Completions paths.
            turns[-1].append({"role": "assistant", "content": message.content})
    kept: list[list[dict[str, Any]]] = []
    size = 0
    for turn in reversed(turns):
        if size + len(turn) > max_items:
            break
        kept.append(turn)
        size += len(turn)
    return [item for turn in reversed(kept) for item in turn]
