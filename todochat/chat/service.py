"""The chat service: one conversation's turns, UI-free (the REPL, `chat -m` and tests call it).

A turn: save the user message (durable before the model runs), take the conversation's turn
lock, bring agent memory up to date with the log, run the agent streamed with that memory,
save the reply (naming its question), prune memory to whole turns, release the lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm.exc import StaleDataError

from todochat.chat.turn_log import TurnLog
from todochat.config import Settings
from todochat.db import Database, open_database, turn_locks
from todochat.db import conversations as conversation_queries
from todochat.db import messages as message_queries
from todochat.db import tasks as task_queries
from todochat.db import users as user_queries
from todochat.db.models import Conversation, Message, Task
from todochat.errors import MemoryStoreError, NotFoundError
from todochat.memory import store
from todochat.memory.sdk_session import get_session_id
from todochat.memory.turn import TurnMemory

if TYPE_CHECKING:
    from agents import SQLiteSession

CANCELLED_MARK = "[reply cancelled]"
WAITING = "Waiting for this conversation's turn in another terminal or on another machine…"

Notice = Callable[[str], None]


@dataclass(frozen=True)
class TurnResult:
    reply: str
    cancelled: bool = False


class ChatService:
    """One user's chat against the app database and agent memory."""

    def __init__(
        self,
        settings: Settings,
        *,
        user: str | None = None,
        model: str | None = None,
        notice: Notice | None = None,
    ):
        self.settings = settings
        self.model_name = model or settings.model
        self.database: Database = open_database(settings.database_url)
        self.notice: Notice = notice or (lambda _text: None)
        with self.database.session() as session:
            self.user_id = user_queries.get_or_create_user(session, user or settings.user).id
        self.user_name = user or settings.user
        self.conversation_id: uuid.UUID | None = None
        self.memory = TurnMemory(
            settings.agent_session_db_path,
            self.user_id,
            settings.agent_session_max_messages,
            lambda text: self.notice(text),  # the REPL may swap `notice` later
        )
        self._model = None
        self._checked: Conversation | None = None  # the conversation the last save checked

    # --- choosing the conversation --------------------------------------------------------

    def new_conversation(self) -> None:
        """Start afresh; the conversation row is created with its first message."""
        self.conversation_id = None

    def resume(self, ref: str) -> Conversation:
        with self.database.session() as session:
            conversation = conversation_queries.resolve_conversation(session, self.user_id, ref)
        self.conversation_id = conversation.id
        return conversation

    def resume_latest(self) -> Conversation | None:
        with self.database.session() as session:
            conversation = conversation_queries.latest_conversation(session, self.user_id)
        self.conversation_id = conversation.id if conversation else None
        return conversation

    @property
    def short_id(self) -> str:
        return (
            conversation_queries.short_id(self.conversation_id) if self.conversation_id else "new"
        )

    # --- one turn -------------------------------------------------------------------------

    def save_user_message(self, text: str) -> Message:
        """Step 1: the message is in the durable log before anything else runs."""
        with self.database.session() as session:
            if self.conversation_id is None:
                self.conversation_id = conversation_queries.create_conversation(
                    session, self.user_id
                ).id
            conversation = conversation_queries.get_conversation(
                session, self.user_id, self.conversation_id
            )
            conversation_queries.touch_conversation(session, conversation, text)
            message = message_queries.add_message(
                session, conversation.id, message_queries.USER, text
            )
        self._checked = conversation
        return message

    def save_reply(self, text: str, reply_to: int | None = None) -> Message:
        """Log the assistant's reply to the user message `reply_to`."""
        with self.database.session() as session:
            checked = self._checked
            if checked is not None and checked.id == self.conversation_id:
                # Checked (this user's) by this turn's first save: no second SELECT. Only the
                # columns touched below are written.
                conversation = session.merge(checked, load=False)
            else:
                conversation = conversation_queries.get_conversation(
                    session, self.user_id, self.conversation_id
                )
            conversation_queries.touch_conversation(session, conversation, None)
            try:
                return message_queries.add_message(
                    session, conversation.id, message_queries.ASSISTANT, text, reply_to
                )
            except StaleDataError:  # deleted meanwhile, as get_conversation would have said
                raise NotFoundError(f"no conversation {self.short_id}") from None

    async def turn(self, text: str, on_delta: Callable[[str], None] | None = None) -> TurnResult:
        """Run one turn; `on_delta` receives the reply as it streams.

        A model failure raises `ModelError` after the user message is saved. Cancellation
        (Ctrl-C) keeps the partial reply, marked, and re-raises.
        """
        text = clean_text(text)
        message = self.save_user_message(text)
        parts: list[str] = []

        def emit(delta: str) -> None:
            parts.append(delta)
            if on_delta:
                on_delta(delta)

        self._resolved_model()  # loads the SDK on first use: before the lock, not while others wait
        locked = False
        try:
            async with self.turn_lock(self.conversation_id) as connection:
                locked = True
                reply = await self._locked_turn(text, message, emit, parts, connection)
        except asyncio.CancelledError:
            if not locked:  # cancelled while waiting: nothing ran, nothing reached memory
                self.save_reply(CANCELLED_MARK, message.id)
            raise
        return TurnResult(reply)

    def turn_lock(self, conversation_id: uuid.UUID):
        """One turn at a time per conversation: on every machine sharing a PostgreSQL app
        database (an advisory lock there, giving its connection), or, on SQLite, among this
        machine's processes (giving None)."""
        on_wait = lambda: self.notice(WAITING)  # noqa: E731
        if self.database.engine.dialect.name == "postgresql":
            return turn_locks.conversation_turn(self.database, conversation_id, on_wait)
        return self.memory.turn_lock(conversation_id, on_wait)

    async def _locked_turn(
        self,
        text: str,
        message: Message,
        emit: Callable[[str], None],
        parts: list[str],
        connection: Connection | None,
    ) -> str:
        """The turn under its lock; every reply is logged under it, so replies are logged in
        the order turns ran (what memory following the log relies on)."""
        conversation_id = message.conversation_id
        try:
            log = self.turn_log(message, connection)
            memory = await self.memory.prepare(conversation_id, log)
            reply = clean_text(await self._run_agent(text, memory, emit))
        except asyncio.CancelledError:
            partial = clean_text("".join(parts).rstrip())
            logged = self.save_reply(
                f"{partial}\n\n{CANCELLED_MARK}" if partial else CANCELLED_MARK, message.id
            )
            self.memory.finish(conversation_id, logged.id)
            raise
        replied = None
        try:
            replied = self.save_reply(reply, message.id)
        finally:
            reply_id = replied.id if replied is not None else None
            await asyncio.to_thread(self.memory.finish, conversation_id, reply_id)
        return reply

    async def _run_agent(
        self, text: str, memory: SQLiteSession, emit: Callable[[str], None]
    ) -> str:
        from agents import RunConfig, Runner

        from todochat.agent.context import TodoContext
        from todochat.agent.todo_agent import todo_agent
        from todochat.chat.errors import describe_model_failure

        run_config = RunConfig(model=self._resolved_model(), tracing_disabled=not self._tracing())
        context = TodoContext(self.user_id, self.database)
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
                f"agent memory failed during the reply ({exc}); your message is saved, try again"
            ) from None
        except Exception as exc:  # the SDK and the HTTP client raise many kinds
            from todochat.agent.models import describe_model

            raise describe_model_failure(
                exc, describe_model(self.settings, self.model_name)
            ) from None

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

    def _manager(self):
        from todochat.memory.manager import SessionManager

        return SessionManager(
            self.memory.path,
            self.settings.agent_session_max_messages,
            self.settings.agent_session_retention_days,
        )

    async def clear_memory(self) -> None:
        """Forget this conversation's agent memory; the log stays, and no rebuild follows."""
        from todochat.memory.admin import clear_conversation_memory

        if self.conversation_id is None:
            return
        await clear_conversation_memory(
            self._manager(), self.database, self.user_id, self.conversation_id
        )

    async def memory_stats(self) -> dict[str, Any]:
        """Item count and last activity of this conversation's agent memory."""
        if self.conversation_id is None:
            return {"message_count": 0, "last_activity": None}
        return await self._manager().get_session_stats(self.session_id)

    def agent_session(self) -> SQLiteSession:
        """This conversation's SDK session: what its next turn reads and writes."""
        return self.memory.sdk_session(self.conversation_id)

    @property
    def session_id(self) -> str:
        return get_session_id(self.user_id, self.conversation_id)

    def close(self) -> None:
        self.memory.close()

    # --- the app database, for slash commands -----------------------------------------------

    def tasks(self, status: task_queries.Status = "open") -> list[Task]:
        with self.database.session() as session:
            return task_queries.list_tasks(session, self.user_id, status)

    def history(self) -> list[Message]:
        """The conversation's messages, each reply after its question."""
        from todochat.log_turns import in_turn_order

        if self.conversation_id is None:
            return []
        with self.database.session() as session:
            return in_turn_order(message_queries.list_messages(session, self.conversation_id))

    def title(self) -> str:
        if self.conversation_id is None:
            return ""
        with self.database.session() as session:
            return conversation_queries.get_conversation(
                session, self.user_id, self.conversation_id
            ).title


def clean_text(text: str) -> str:
    """What every store and model request can carry: undecodable input and lone surrogates
    (a model can send `"\\ud800"`) become U+FFFD; NUL bytes go."""
    return store.clean_text(text).replace("\x00", "")


def _text_delta(event: Any) -> str | None:
    if getattr(event, "type", None) != "raw_response_event":
        return None
    data = event.data
    return data.delta if getattr(data, "type", None) == "response.output_text.delta" else None
