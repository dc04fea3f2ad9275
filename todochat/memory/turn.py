"""What a chat turn needs of agent memory: open it (or recover it), repair it, bring it up
to date with the log, and afterwards clean and prune it.

Memory is a cache of the durable log. A damaged file (a SQLite header, unreadable) is moved
aside; a file deleted, moved or replaced while a chat runs is noticed by its identity and
opened anew (mode 0600); an emptied memory is refilled from the log's newest whole turns.
One worker-thread trip and one connection do every turn's checks.

Memory follows the log: it records the newest reply it holds (its watermark) and the reset
mark it reflects. Before each turn one indexed query asks the log for newer replies: turns
another machine (with its own memory file) or an earlier crash wrote. They are appended, or
memory is rebuilt within its limit; a reset made elsewhere clears this memory first.
Replies are logged under the turn lock, so a newer reply is always a later turn.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from todochat.errors import MemoryStoreError, memory_failure
from todochat.log.turns import LoggedMessage, Turn, turns
from todochat.memory import locks, store
from todochat.memory.sdk import get_session_id, open_sdk_session

if TYPE_CHECKING:
    from agents import SQLiteSession

    from todochat.memory.metrics import TurnClock

Notice = Callable[[str], None]
Pairs = list[tuple[LoggedMessage | None, LoggedMessage]]


class ConversationLog(Protocol):
    """What a turn's memory reads of the durable log (this conversation, this turn)."""

    def earlier(self, newest: int | None = None) -> tuple[datetime | None, Sequence[LoggedMessage]]:
        """The reset mark, and the messages logged after it (the `newest` so many when
        given) but for this turn's own."""

    def replies_after(self, message_id: int, limit: int) -> tuple[datetime | None, Pairs]:
        """The reset mark, and the newest `limit` replies after `message_id` with their
        questions, oldest first (one indexed query)."""


@dataclass(frozen=True)
class Catchup:
    """What to write so memory holds the log again, and the line that says so."""

    items: list[dict[str, Any]]
    seen: store.Watermark
    replace: bool
    notice: str | None


class TurnMemory:
    """One user's agent memory as chat turns use it: an SDK session per conversation."""

    def __init__(self, configured_path: str, user_id: uuid.UUID, max_items: int, notice: Notice):
        self.path = store.usable_path(configured_path)
        self.user_id = user_id
        self.max_items = max_items
        self.notice = notice
        self._open: dict[uuid.UUID, tuple[SQLiteSession, tuple[int, int] | None]] = {}
        self._newest_before_turn: dict[uuid.UUID, int] = {}

    async def prepare(self, conversation_id: uuid.UUID, log: ConversationLog) -> SQLiteSession:
        """This conversation's SDK session, ready for a turn and up to date with the log."""
        try:
            return await locks.retry_locked_async(lambda: self._prepare(conversation_id, log))
        except (OSError, sqlite3.Error) as exc:
            raise memory_failure(exc, self.path) from None

    async def _prepare(self, conversation_id: uuid.UUID, log: ConversationLog) -> SQLiteSession:
        memory, newest, seen = await asyncio.to_thread(self._open_for_turn, conversation_id)
        catchup = self.catch_up(log, newest == 0, seen)
        if catchup is not None:
            await asyncio.to_thread(self._write, memory.session_id, catchup)
            if catchup.notice:
                self.notice(catchup.notice)
        return memory

    def catch_up(
        self, log: ConversationLog, empty: bool, seen: store.Watermark | None
    ) -> Catchup | None:
        """What memory lacks of the log (None: nothing); reads the log, writes nothing."""
        if empty:
            return self._rebuild(log, seen, "Restored agent memory from the log ({} items).")
        if seen is None:  # kept by an earlier version, which ran on one machine: adopt it
            reset, newest = log.replies_after(0, 1)
            last = newest[-1][1].id if newest else 0
            return Catchup([], store.Watermark(last, _mark(reset)), False, None)
        fetch = (self.max_items - 1) // 2 + 1  # a turn is at least two items
        reset, pairs = log.replies_after(seen.message_id, fetch)
        if _mark(reset) != seen.reset_at:
            note = "This conversation's agent memory was cleared elsewhere; cleared it here too"
            return self._rebuild(log, seen, note + " (restored {} items from the log).", True)
        if not pairs:
            return None
        return self._append(pairs, reset, len(pairs) == fetch)

    def _rebuild(
        self, log: ConversationLog, seen: store.Watermark | None, notice: str, replace=False
    ) -> Catchup:
        reset, messages = log.earlier(rebuild_window(self.max_items))
        items = items_from_log(messages, self.max_items - 1)
        replies = [m.id for m in messages if m.role != "user"]
        last = max(replies, default=seen.message_id if seen else 0)
        said = notice.format(len(items)) if items or replace else None
        return Catchup(items, store.Watermark(last, _mark(reset)), replace, said)

    def _append(self, pairs: Pairs, reset: datetime | None, more: bool) -> Catchup:
        logged = [Turn(question, [reply]) for question, reply in pairs]
        items, kept = items_from_turns(logged, self.max_items - 1)
        answered = sum(1 for turn in logged if turn.question is not None)
        # More than fits: the newest whole turns only, in place of what memory held.
        replace = kept > 0 and (more or kept < answered)
        seen = store.Watermark(pairs[-1][1].id, _mark(reset))
        notice = (
            f"Agent memory caught up with the log: {answered} turn{'s' * (answered != 1)} "
            f"from another terminal or machine{' (newest kept within the limit)' * replace}."
        )
        return Catchup(items, seen, replace, notice if answered else None)

    def _write(self, session_id: str, catchup: Catchup) -> None:
        with closing(store.connect(self.path)) as conn:
            store.write_from_log(conn, session_id, catchup.items, catchup.seen, catchup.replace)

    def _open_for_turn(
        self, conversation_id: uuid.UUID
    ) -> tuple[SQLiteSession, int, store.Watermark | None]:
        session_id = get_session_id(self.user_id, conversation_id)
        store.ensure_file(self.path)
        try:
            newest, seen = self._check(session_id)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise
            self._set_aside()
            newest, seen = self._check(session_id)
        self._newest_before_turn[conversation_id] = newest
        return self._session(conversation_id, session_id), newest, seen

    def _check(self, session_id: str) -> tuple[int, store.Watermark | None]:
        """Read, touch (a cleanup running now keeps it) and repair: the newest item's id and
        what memory holds of the log."""
        with closing(store.connect(self.path)) as conn:
            store.probe(conn, session_id)
            store.touch_session(conn, session_id)
            store.remove_corrupt_items(conn, session_id)
            store.ensure_watermarks(conn)
            # What is left is valid items only, so "no row" is "no item".
            return store.last_item_id(conn, session_id), store.watermark(conn, session_id)

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

    def finish(
        self,
        conversation_id: uuid.UUID,
        reply_id: int | None = None,
        clock: TurnClock | None = None,
    ) -> int:
        """After a turn: make what the model sent storable text, prune to whole turns, and
        record that memory holds the log up to this turn's reply (`reply_id`, when logged).

        The turn's `clock` figures are recorded in the prune's transaction (no extra commit).
        A failure here (a full disk, a lock held for long) is one warning: the turn counts.
        Returns the items pruned.
        """
        session_id = get_session_id(self.user_id, conversation_id)
        after = self._newest_before_turn.pop(conversation_id, 0)

        def run() -> int:
            with closing(store.connect(self.path)) as conn:
                if reply_id is not None:  # first: should the prune fail, memory still
                    store.advance_watermark(conn, session_id, reply_id)  # knows this turn
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


def rebuild_window(max_items: int) -> int:
    """How many of the newest logged messages a rebuild reads: a turn is a question and its
    reply, so twice the item limit, with room for questions whose turn failed."""
    return 2 * max_items + 20


def _mark(reset: datetime | None) -> str | None:
    return reset.isoformat() if reset is not None else None


def items_from_log(messages: Sequence[LoggedMessage], max_items: int) -> list[dict[str, Any]]:
    """Agent-memory items for the newest whole turns of the log that fit within `max_items`.

    Replies are paired with their questions by `reply_to`, whatever the log's order.
    """
    return items_from_turns(turns(messages), max_items)[0]


def items_from_turns(logged: Sequence[Turn], max_items: int) -> tuple[list[dict[str, Any]], int]:
    """The items of the newest answered turns that fit within `max_items`, and how many fit.

    A question without a reply is left out: its turn failed, or waits for the lock now.
    """
    answered = [turn for turn in logged if turn.question is not None and turn.replies]
    kept: list[list[dict[str, Any]]] = []
    size = 0
    for turn in reversed(answered):
        # The easy-input form is accepted by both the Responses and Chat Completions paths.
        items = [{"role": "user", "content": turn.question.content}]
        items += [{"role": "assistant", "content": reply.content} for reply in turn.replies]
        if size + len(items) > max_items:
            break
        kept.append(items)
        size += len(items)
    return [item for items in reversed(kept) for item in items], len(kept)
