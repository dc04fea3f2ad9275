"""What a chat turn needs of agent memory: open it (or recover it), repair it, bring it up
to date with the log, and afterwards clean and prune it.

Memory is a cache of the durable log. A damaged file (a SQLite header, unreadable) is moved
aside; a file deleted, moved or replaced while a chat runs is noticed by its identity and
opened anew (mode 0600); an emptied memory is refilled from the log's newest whole turns.

A turn costs the file little: one connection of ours, kept open while the file stays the
same; the session's stored items read once before the run (checks, repairs and the prune
all use that read); and one write transaction after it, holding the run's items (held by
the SDK session until then: `memory.sdk.open_turn_session`), the watermark, the timings
and the prune. A second, before the run, only when there is something to write then: a
repair, a catch-up from the log, or a session idle long enough that a cleanup could expire
it during the turn (touched so it keeps it).

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
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from todochat.errors import MemoryStoreError, memory_failure
from todochat.log.pairing import LoggedMessage, Turn, turns
from todochat.memory import locks, store
from todochat.memory.metrics import current_clock
from todochat.memory.sdk import get_session_id, open_turn_session

if TYPE_CHECKING:
    from agents import SQLiteSession

Notice = Callable[[str], None]
# A session written to within this long is not touched before a turn: a cleanup expires
# sessions idle for days (one idle for 0 days it expires whatever a touch did).
TOUCH_AFTER_SECONDS = 3600
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
        # Per conversation, from `prepare` to `finish`: the rows read (and the file they
        # were read from), and a catch-up's watermark left for the turn's write.
        self._rows: dict[uuid.UUID, tuple[store.SessionRows, tuple[int, int] | None]] = {}
        self._seen: dict[uuid.UUID, store.Watermark] = {}
        self._conn: sqlite3.Connection | None = None
        self._conn_file: tuple[int, int] | None = None

    async def prepare(self, conversation_id: uuid.UUID, log: ConversationLog) -> SQLiteSession:
        """This conversation's SDK session, ready for a turn and up to date with the log."""
        try:
            return await locks.retry_locked_async(lambda: self._prepare(conversation_id, log))
        except (OSError, sqlite3.Error) as exc:
            self._close_connection()  # whatever state a failed statement left it in
            raise memory_failure(exc, self.path) from None

    async def _prepare(self, conversation_id: uuid.UUID, log: ConversationLog) -> SQLiteSession:
        memory, rows, seen = await asyncio.to_thread(self._open_for_turn, conversation_id)
        catchup = self.catch_up(log, rows.newest == 0, seen)
        written = None
        if catchup is not None and (catchup.items or catchup.replace):
            written = store.FromLog(catchup.items, catchup.seen, catchup.replace)
        elif catchup is not None:  # only a watermark: the turn's write records it
            self._seen[conversation_id] = catchup.seen
        if written is not None or rows.corrupt or rows.idle:
            await asyncio.to_thread(self._before_run, conversation_id, memory.session_id, written)
        if catchup is not None and catchup.notice:
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

    def _before_run(
        self, conversation_id: uuid.UUID, session_id: str, catchup: store.FromLog | None
    ) -> None:
        """The write before the run: repairs, the touch, a catch-up. After a catch-up the
        rows it changed are read again (rare: not every turn)."""
        conn = self._connection()
        rows, read_from = self._rows[conversation_id]
        store.before_turn(conn, session_id, rows, catchup)
        if catchup is not None:
            rows = store.read_session_rows(conn, session_id, TOUCH_AFTER_SECONDS)
            self._rows[conversation_id] = (rows, read_from)

    def _open_for_turn(
        self, conversation_id: uuid.UUID
    ) -> tuple[SQLiteSession, store.SessionRows, store.Watermark | None]:
        session_id = get_session_id(self.user_id, conversation_id)
        store.ensure_file(self.path)
        try:
            rows, seen = self._check(session_id)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise
            self._set_aside()
            rows, seen = self._check(session_id)
        self._rows[conversation_id] = (rows, self._conn_file)
        self._seen.pop(conversation_id, None)
        memory = self._session(conversation_id, session_id)
        memory.take_pending()  # what a failed turn held: never written, as the log has it
        return memory, rows, seen

    def _check(self, session_id: str) -> tuple[store.SessionRows, store.Watermark | None]:
        """Read the session's rows once: the rows (valid items only, so "no row" is "no
        item"; `_before_run` deletes the others) and what memory holds of the log."""
        conn = self._connection()
        store.probe(conn)
        store.ensure_watermarks(conn)  # a no-op once there (an older version's file lacks it)
        rows = store.read_session_rows(conn, session_id, TOUCH_AFTER_SECONDS)
        return rows, store.watermark(conn, session_id)

    def _connection(self) -> sqlite3.Connection:
        """Our one connection to the file, opened anew when the file was replaced."""
        identity = store.file_identity(self.path)
        if self._conn is not None and identity == self._conn_file:
            return self._conn
        self._close_connection()
        conn = store.connect(self.path, any_thread=True)
        self._conn, self._conn_file = conn, identity
        return conn

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = self._conn_file = None

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
        memory = open_turn_session(session_id, self.path, self.max_items)
        self._open[conversation_id] = (memory, identity)
        return memory

    def sdk_session(self, conversation_id: uuid.UUID) -> SQLiteSession:
        """This conversation's SDK session (the file is created if absent)."""
        store.ensure_file(self.path)
        return self._session(conversation_id, get_session_id(self.user_id, conversation_id))

    def finish(self, conversation_id: uuid.UUID, reply_id: int | None = None) -> int:
        """After a turn, one transaction: the run's items as storable text, the record that
        memory holds the log up to this turn's reply (`reply_id`, when logged), the turn's
        timings (its `TurnClock`, when one runs) and the prune to whole turns.

        A failure here (a full disk, a lock held for long) is one warning: the turn counts.
        Returns the items pruned.
        """
        session_id = get_session_id(self.user_id, conversation_id)
        rows, read_from = self._rows.pop(conversation_id, (None, None))
        clock = current_clock()
        end = store.TurnEnd(
            self._take_pending(conversation_id),
            reply_id,
            clock.timing() if clock is not None else None,
            self._seen.pop(conversation_id, None),
        )

        def run() -> int:
            conn = self._connection()
            if rows is not None and self._conn_file != read_from:
                return 0  # the file was replaced during the turn: the next rebuilds from the log
            return store.finish_turn(conn, session_id, end, self.max_items, rows)

        try:
            return locks.retry_locked(run)
        except (OSError, sqlite3.Error, MemoryStoreError) as exc:
            # When the whole write failed, the next turn catches this one up from the log.
            self._close_connection()  # whatever state a failed commit left it in
            failure = memory_failure(exc, self.path)
            self.notice(f"Warning: agent memory was not pruned ({failure}); the turn is saved.")
            return 0

    def _take_pending(self, conversation_id: uuid.UUID) -> list[dict[str, Any]]:
        cached = self._open.get(conversation_id)
        return cached[0].take_pending() if cached is not None else []

    def discard_turn(self, conversation_id: uuid.UUID) -> None:
        """Forget what this turn's run added (its conversation was forgotten meanwhile)."""
        self._take_pending(conversation_id)
        self._rows.pop(conversation_id, None)
        self._seen.pop(conversation_id, None)

    def close(self) -> None:
        for memory, _ in self._open.values():
            memory.close()
        self._open.clear()
        self._close_connection()


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
