"""The chat service: one conversation's turns, UI-free (the REPL, `chat -m` and tests call it).

A turn: save the user message (durable before the model runs), take the conversation's turn
lock, bring agent memory up to date with the log, run the agent streamed with that memory,
save the reply (naming its question), prune memory to whole turns, release the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm.exc import StaleDataError

from todochat.db import Database
from todochat.db.models import Conversation, Message
from todochat.errors import (
    AppDatabaseError,
    CommitUnknownError,
    MemoryStoreError,
    MessageNotSavedError,
    NotFoundError,
)
from todochat.log import conversations as conversation_queries
from todochat.log import messages as message_queries
from todochat.log import turn_locks
from todochat.log import users as user_queries
from todochat.log.memory_feed import TurnLog
from todochat.memory import locks, store
from todochat.memory.metrics import TurnClock, current_clock
from todochat.memory.sdk import get_session_id
from todochat.memory.turn import TurnMemory

if TYPE_CHECKING:
    from agents import SQLiteSession

    from todochat.app import User

CANCELLED_MARK = "[reply cancelled]"
# The model's stream ended before its reply did (or was no API stream): what arrived is kept.
INCOMPLETE_MARK = "[reply incomplete]"
WAITING = "Waiting for this conversation's turn in another terminal or on another machine…"

Notice = Callable[[str], None]


@dataclass(frozen=True)
class TurnResult:
    reply: str
    cancelled: bool = False
    incomplete: str = ""  # why the reply is cut short ("": it is whole)
    message_id: int | None = None  # the user message, as logged
    reply_id: int | None = None  # the reply, as logged (None: not kept)


async def in_thread(work: Callable[..., Any], *args: Any) -> Any:
    """`work(*args)` in a worker thread, so the event loop serves others (the server's other
    requests) while the database works. A cancel that arrives meanwhile waits for the work to
    end, then is delivered at the next await: what was written is known, as when the work
    ran on the loop itself."""
    future = asyncio.ensure_future(asyncio.to_thread(work, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        try:
            return await future
        finally:
            task = asyncio.current_task()
            if task is not None:
                task.cancel()


class _ReplyCut(Exception):
    """The model's reply stream ended early; `_locked_turn` logs what arrived, marked."""


def marked(partial: str, mark: str) -> str:
    """What arrived of a reply, then its mark on a line of its own."""
    return f"{partial}\n\n{mark}" if partial else mark


class ChatService:
    """One user's chat against the app database and agent memory."""

    def __init__(self, user: User, *, model: str | None = None, notice: Notice | None = None):
        self.user = user
        self.settings = settings = user.app.settings
        self.model_name = model or settings.model
        self.database: Database = user.app.database
        self.notice: Notice = notice or (lambda _text: None)
        with self.database.session() as db:
            user_queries.get_or_create_user(db, user.name)  # its row, before its first message
        self.user_id = user.id  # derived from the name, as memory's session ids are
        self.user_name = user.name
        self.conversation_id: uuid.UUID | None = None
        self.memory = TurnMemory(
            settings.agent_session_db_path,
            self.user_id,
            settings.agent_session_max_messages,
            lambda text: self.notice(text),  # the REPL may swap `notice` later
        )
        self._model = None
        self._checked: Conversation | None = None  # the conversation the last save checked
        self.known_title = ""  # the title when last read: the toolbar never asks the database

    # --- choosing the conversation --------------------------------------------------------

    def new_conversation(self) -> None:
        """Start afresh; the conversation row is created with its first message."""
        self.conversation_id = None
        self.known_title = ""

    def resume(self, ref: str) -> Conversation:
        conversation = self.user.log.conversation(ref)
        self.conversation_id = conversation.id
        self.known_title = conversation.title
        return conversation

    def resume_latest(self) -> Conversation | None:
        conversation = self.user.log.latest()
        self.conversation_id = conversation.id if conversation else None
        self.known_title = conversation.title if conversation else ""
        return conversation

    @property
    def short_id(self) -> str:
        return (
            conversation_queries.short_id(self.conversation_id) if self.conversation_id else "new"
        )

    # --- one turn -------------------------------------------------------------------------

    def save_user_message(self, text: str) -> Message:
        """Step 1: the message is in the durable log before anything else runs.

        If it could not be written, `MessageNotSavedError`: the caller must not say "saved".
        """

        def save(db) -> tuple[Conversation, Message]:
            conversation = self._current_or_new(db)
            conversation_queries.touch_conversation(db, conversation, text)
            message = message_queries.add_message(db, conversation.id, message_queries.USER, text)
            return conversation, message

        try:
            conversation, message = self.database.write(save)
        except CommitUnknownError as exc:
            raise MessageNotSavedError(
                f"{exc}; your message may not have been saved (see /history)"
            ) from None
        except (AppDatabaseError, NotFoundError) as exc:
            raise MessageNotSavedError(f"{exc}; your message was NOT saved") from None
        self.conversation_id, self._checked = conversation.id, conversation
        self.known_title = conversation.title
        return message

    def _current_or_new(self, db) -> Conversation:
        """This conversation, or a new one when there is none yet or it was forgotten.

        Changes nothing on `self` (a save may be retried on a fresh connection); the caller
        records the conversation once the save committed.
        """
        if self.conversation_id is not None:
            try:
                return conversation_queries.get_conversation(db, self.user_id, self.conversation_id)
            except NotFoundError:  # `todochat forget` removed it while we were open on it
                self.notice(
                    f"Conversation {self.short_id} was forgotten; "
                    "this message starts a new conversation."
                )
        return conversation_queries.create_conversation(db, self.user_id)

    def save_reply(self, text: str, reply_to: int | None = None) -> Message:
        """Log the assistant's reply to the user message `reply_to` (retried once on a
        dropped connection, as the user message is)."""

        def save(db) -> Message:
            checked = self._checked
            if checked is not None and checked.id == self.conversation_id:
                # Checked (this user's) by this turn's first save: no second SELECT. Only the
                # columns touched below are written.
                conversation = db.merge(checked, load=False)
            else:
                conversation = conversation_queries.get_conversation(
                    db, self.user_id, self.conversation_id
                )
            conversation_queries.touch_conversation(db, conversation, None)
            try:
                return message_queries.add_message(
                    db, conversation.id, message_queries.ASSISTANT, text, reply_to
                )
            except StaleDataError:  # deleted meanwhile, as get_conversation would have said
                raise NotFoundError(f"no conversation {self.short_id}") from None

        return self.database.write(save)

    async def turn(
        self,
        text: str,
        on_delta: Callable[[str], None] | None = None,
        on_saved: Callable[[Message], None] | None = None,
    ) -> TurnResult:
        """Run one turn; `on_saved` receives the user message once it is logged, `on_delta`
        the reply as it streams. The log's reads and writes run in worker threads.

        A model failure raises `ModelError` after the user message is saved. Cancellation
        (Ctrl-C) keeps the partial reply, marked, and re-raises.
        """
        clock = TurnClock.start()
        text = clean_text(text)
        message = await in_thread(self.save_user_message, text)
        if on_saved:
            on_saved(message)
        with clock.measure("start_up"):  # loads the SDK on first use: not the turn's time, and
            self._resolved_model()  # before the lock, so others do not wait for our import
        parts: list[str] = []
        show = [on_delta] if on_delta else []

        def emit(delta: str) -> None:
            parts.append(delta)
            try:
                for display in show:
                    display(delta)
            except Exception as exc:  # noqa: BLE001  a display failing must not lose the reply
                show.clear()  # the turn goes on, and its reply is logged
                self.notice(f"Warning: the reply cannot be shown ({exc}); it is saved in the log.")

        locked = False
        try:
            async with self.turn_lock(self.conversation_id) as connection:
                locked = True
                return await self._locked_turn(text, message, emit, parts, connection)
        except asyncio.CancelledError:
            if not locked:  # cancelled while waiting: nothing ran, nothing reached memory
                self.save_reply(CANCELLED_MARK, message.id)
            raise

    async def _forgotten_meanwhile(self) -> None:
        """The conversation was forgotten during this turn: what the turn put in agent
        memory goes too, and the next message starts a new conversation."""
        self.memory.discard_turn(self.conversation_id)
        await self.user.app.memory.clear_session(self.session_id)
        self.notice(
            f"Conversation {self.short_id} was forgotten during this turn: this reply is not "
            "kept, and your next message starts a new conversation."
        )
        self.conversation_id = None

    def turn_lock(self, conversation_id: uuid.UUID):
        """One turn at a time per conversation: on every machine sharing a PostgreSQL app
        database (an advisory lock there, giving its connection), or, on SQLite, among this
        machine's processes (giving None)."""
        on_wait = lambda: self.notice(WAITING)  # noqa: E731
        return conversation_turn(self.database, self.memory.path, conversation_id, on_wait)

    async def _locked_turn(
        self,
        text: str,
        message: Message,
        emit: Callable[[str], None],
        parts: list[str],
        connection: Connection | None,
    ) -> TurnResult:
        """The turn under its lock; every reply is logged under it, so replies are logged in
        the order turns ran (what memory following the log relies on)."""
        conversation_id = message.conversation_id
        clock = current_clock()
        try:
            with clock.measure("retrieval"):
                memory = await self.memory.prepare(
                    conversation_id, self.turn_log(message, connection)
                )
            with clock.measure("model"):
                reply = clean_text(await self._run_agent(text, memory, emit, message.id))
        except MemoryStoreError:
            # Memory failed under the SDK mid-run: the reply the user saw is logged (memory
            # catches up from the log next turn); the run is not repeated, tools may have run.
            seen = clean_text("".join(parts).rstrip())
            if seen:
                self.save_reply(seen, message.id)
            raise
        except asyncio.CancelledError:
            partial = clean_text("".join(parts).rstrip())
            logged = self.save_reply(marked(partial, CANCELLED_MARK), message.id)
            self.memory.finish(conversation_id, logged.id)
            raise
        except _ReplyCut as cut:
            # Logged as what it is, so neither the log nor the next turn takes it as whole.
            reply = marked(clean_text("".join(parts).rstrip()), INCOMPLETE_MARK)
            reply_id = await self._save_and_finish(reply, message)
            return TurnResult(reply, incomplete=str(cut), message_id=message.id, reply_id=reply_id)
        reply_id = await self._save_and_finish(reply, message)
        return TurnResult(reply, message_id=message.id, reply_id=reply_id)

    async def _save_and_finish(self, reply: str, message: Message) -> int | None:
        """Log the reply, then bring memory's record of the log up to it; the reply's id
        (None when the conversation was forgotten meanwhile)."""
        replied = None
        try:
            replied = await in_thread(self.save_reply, reply, message.id)
        except NotFoundError:  # forgotten while this turn waited for (or ran without) the lock
            await self._forgotten_meanwhile()
            return None
        finally:
            reply_id = replied.id if replied is not None else None
            await asyncio.to_thread(self.memory.finish, message.conversation_id, reply_id)
        return reply_id

    async def _run_agent(
        self, text: str, memory: SQLiteSession, emit: Callable[[str], None], message_id: int
    ) -> str:
        from agents import RunConfig, Runner

        from todochat.agent.context import TodoContext
        from todochat.agent.failures import describe_model_failure
        from todochat.agent.todo_agent import todo_agent

        run_config = RunConfig(model=self._resolved_model(), tracing_disabled=not self._tracing())
        context = TodoContext(
            self.user_id, self.database, self.conversation_id, message_id, self.settings.timezone
        )
        result = None
        try:
            result = Runner.run_streamed(
                todo_agent, text, context=context, session=memory, run_config=run_config
            )
            async for event in result.stream_events():
                delta = _text_delta(event)
                if delta:
                    emit(delta)
            return str(result.final_output or "")
        except asyncio.CancelledError:
            # Stop the SDK's background run too, or it would go on calling tools later.
            if result is not None:
                result.cancel()
            raise
        except sqlite3.Error as exc:
            # Not retried: tools may already have run, so a second run could repeat them.
            raise MemoryStoreError(
                f"agent memory failed during the reply ({exc}); your message and the reply "
                "shown are in the log, and memory catches up from it on the next turn"
            ) from None
        except Exception as exc:  # the SDK and the HTTP client raise many kinds
            from todochat.agent.models import describe_model

            cut = _cut_stream(exc)
            if cut is not None:
                raise _ReplyCut(str(cut)) from None

            raise describe_model_failure(
                exc, describe_model(self.settings, self.model_name)
            ) from None

    def warm_up(self) -> None:
        """Import the agent stack and build the model before the first turn needs them: the
        REPL runs this in a thread while the person types. A failure here is left for the
        turn to report in its usual words."""
        self.user.app.warm_up()
        # This chat's own model (`--model` may differ); a failure is the turn's to report.
        with contextlib.suppress(Exception):
            self._resolved_model()

    def _resolved_model(self):
        if self._model is None:
            from todochat.agent.models import configure_sdk, resolve_model

            configure_sdk(self.settings)
            self._model = resolve_model(self.settings, self.model_name)
        return self._model

    def _tracing(self) -> bool:
        return bool(self.settings.tracing and self.settings.openai_api_key)

    # --- agent memory ---------------------------------------------------------------------

    def turn_log(self, message: Message, connection: Connection | None = None) -> TurnLog:
        """The log as the turn answering `message` reads it to bring memory up to date."""
        return TurnLog(self.database, self.user_id, message.conversation_id, message.id, connection)

    async def clear_memory(self) -> None:
        """Forget this conversation's agent memory; the log stays, and no rebuild follows."""
        if self.conversation_id is not None:
            memory = self.user.memory
            await memory.clear(memory.target(self.conversation_id))

    async def memory_stats(self) -> dict[str, Any]:
        """Item count and last activity of this conversation's agent memory."""
        if self.conversation_id is None:
            return {"message_count": 0, "last_activity": None}
        memory = self.user.memory
        return await memory.stats(memory.target(self.conversation_id))

    async def undo(self) -> str:
        """Undo this conversation's last change (`/undo`); its agent memory is told."""
        return await self.user.undo(self.conversation_id)

    def agent_session(self) -> SQLiteSession:
        """This conversation's SDK session: what its next turn reads and writes."""
        return self.memory.sdk_session(self.conversation_id)

    @property
    def session_id(self) -> str:
        return get_session_id(self.user_id, self.conversation_id)

    def rename(self, title: str) -> str:
        """Title this conversation (the toolbar shows it at once); `NotFoundError` before
        its first message."""
        if self.conversation_id is None:
            raise NotFoundError("no conversation yet: send a message first")
        self.known_title = self.user.log.rename(self.conversation_id, title)
        return self.known_title

    def close(self) -> None:
        self.memory.close()


def conversation_turn(
    database: Database,
    memory_path: str,
    conversation_id: uuid.UUID,
    on_wait: Callable[[], None] | None = None,
) -> AbstractAsyncContextManager[Connection | None]:
    """Hold the conversation's turn lock; yields the lock's PostgreSQL connection, or None.

    With a PostgreSQL app database every machine shares it, so the lock is an advisory lock
    there (`log.turn_locks`); with SQLite only this machine's processes share the log, and a
    lock file beside agent memory (`memory.locks`) orders them. A chat turn and `forget`
    take the same lock, so a forget never interleaves with a turn of the conversation it
    removes.
    """
    if database.engine.dialect.name == "postgresql":
        return turn_locks.conversation_turn(database, conversation_id, on_wait)
    store.existing_file(memory_path)  # a file that is not ours: nothing created beside it
    return locks.conversation_turn(memory_path, conversation_id, on_wait)


def clean_text(text: str) -> str:
    """What every store and model request can carry: undecodable input and lone surrogates
    (a model can send `"\\ud800"`) become U+FFFD; NUL bytes go."""
    return store.clean_text(text).replace("\x00", "")


def _cut_stream(exc: BaseException | None) -> BaseException | None:
    """The `IncompleteStream` behind `exc`, however the SDK wrapped it (None: another failure)."""
    from todochat.agent.stream_check import IncompleteStream

    for _ in range(5):  # a chain of causes, never a cycle
        if exc is None or isinstance(exc, IncompleteStream):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _text_delta(event: Any) -> str | None:
    if getattr(event, "type", None) != "raw_response_event":
        return None
    data = event.data
    return data.delta if getattr(data, "type", None) == "response.output_text.delta" else None
