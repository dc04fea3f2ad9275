"""The chat service: one conversation's turns, UI-free (the REPL, `chat -m` and tests call it).

A turn: save the user message (durable before the model runs), open agent memory, run the
agent streamed with that memory, save the reply, prune memory to whole turns.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from todochat.agent import memory_store, recovery
from todochat.agent.retry import is_locked, retry_locked, retry_locked_async
from todochat.agent.session import get_session_id
from todochat.config import Settings
from todochat.db import Database, open_database
from todochat.db import conversations as conversation_queries
from todochat.db import messages as message_queries
from todochat.db import tasks as task_queries
from todochat.db import users as user_queries
from todochat.db.models import Conversation, Message, Task
from todochat.errors import ModelError

if TYPE_CHECKING:
    from agents import SQLiteSession

CANCELLED_MARK = "[reply cancelled]"

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
        self._memory: dict[uuid.UUID, SQLiteSession] = {}
        self._model = None

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
            return message_queries.add_message(session, conversation.id, message_queries.USER, text)

    def save_reply(self, text: str) -> None:
        with self.database.session() as session:
            conversation = conversation_queries.get_conversation(
                session, self.user_id, self.conversation_id
            )
            conversation_queries.touch_conversation(session, conversation, None)
            message_queries.add_message(session, conversation.id, message_queries.ASSISTANT, text)

    async def turn(self, text: str, on_delta: Callable[[str], None] | None = None) -> TurnResult:
        """Run one turn; `on_delta` receives the reply as it streams.

        A model failure raises `ModelError` after the user message is saved. Cancellation
        (Ctrl-C) keeps the partial reply, marked, and re-raises.
        """
        self.save_user_message(text)
        parts: list[str] = []

        def emit(delta: str) -> None:
            parts.append(delta)
            if on_delta:
                on_delta(delta)

        try:
            memory = await self._prepared_memory()
            reply = await self._run_with_retry(text, memory, emit, parts)
        except asyncio.CancelledError:
            partial = "".join(parts).rstrip()
            self.save_reply(f"{partial}\n\n{CANCELLED_MARK}" if partial else CANCELLED_MARK)
            raise
        self.save_reply(reply)
        await asyncio.to_thread(self.prune_memory)
        return TurnResult(reply)

    async def _run_with_retry(self, text, memory, emit, parts) -> str:
        async def attempt() -> str:
            try:
                return await self._run_agent(text, memory, emit)
            except sqlite3.OperationalError as exc:
                if parts or not is_locked(exc):
                    raise ModelError(f"agent memory failed: {exc}") from None
                raise

        return await retry_locked_async(attempt)

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
        except sqlite3.OperationalError:
            raise
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

    @property
    def session_id(self) -> str:
        return get_session_id(self.user_id, self.conversation_id)

    def memory(self) -> SQLiteSession:
        """This conversation's agent session (one per conversation, reused across turns)."""
        from todochat.agent.session import get_agent_session

        if self.conversation_id not in self._memory:
            self._memory[self.conversation_id] = get_agent_session(
                self.user_id,
                self.conversation_id,
                self.settings.agent_session_db_path,
                self.settings.agent_session_max_messages,
            )
        return self._memory[self.conversation_id]

    async def _prepared_memory(self) -> SQLiteSession:
        """Open memory, moving an unreadable file aside and refilling an emptied one from the log."""
        path = self.settings.agent_session_db_path
        if not await asyncio.to_thread(recovery.check_readable, path, self.session_id):
            self._forget_memory()
            moved = await asyncio.to_thread(recovery.move_aside, path)
            if moved is not None:
                self.notice(
                    f"Agent memory was unreadable; moved it to {moved.name} and started afresh."
                )
        memory = await asyncio.to_thread(self.memory)
        await asyncio.to_thread(recovery.remove_corrupt_items, path, self.session_id)
        await self._rebuild_if_lost(memory)
        return memory

    async def _rebuild_if_lost(self, memory: SQLiteSession) -> None:
        """An expired or lost memory is rebuilt from the log; an explicit clear is respected."""
        if await memory.get_items(limit=1):
            return
        with self.database.session() as session:
            conversation = conversation_queries.get_conversation(
                session, self.user_id, self.conversation_id
            )
            earlier = message_queries.list_messages(
                session, conversation.id, conversation.memory_reset_at
            )
        earlier = earlier[:-1]  # the message of this turn is the run's input
        items = recovery.items_from_log(earlier, self.settings.agent_session_max_messages - 1)
        if items:
            await memory.add_items(items)
            self.notice(f"Restored agent memory from the log ({len(items)} items).")

    def prune_memory(self) -> int:
        """Trim this conversation's memory to AGENT_SESSION_MAX_MESSAGES, whole turns only."""
        path = self.settings.agent_session_db_path
        if path == ":memory:" or self.conversation_id is None:
            return 0

        def prune() -> int:
            with closing(memory_store.connect(path)) as conn:
                return memory_store.prune_session(
                    conn, self.session_id, self.settings.agent_session_max_messages
                )

        return retry_locked(prune)

    async def clear_memory(self) -> None:
        """Forget this conversation's agent memory; the log stays, and no rebuild follows."""
        if self.conversation_id is None:
            return
        await self.memory().clear_session()
        with self.database.session() as session:
            conversation = conversation_queries.get_conversation(
                session, self.user_id, self.conversation_id
            )
            conversation_queries.mark_memory_reset(session, conversation)

    async def memory_stats(self) -> dict[str, Any]:
        """Item count and last activity of this conversation's agent memory."""
        from todochat.agent.session_manager import SessionManager

        if self.conversation_id is None:
            return {"message_count": 0, "last_activity": None}
        if self.settings.memory_is_ephemeral:
            # A `:memory:` database lives only inside this process's session object.
            items = await self.memory().get_items(limit=-1)
            return {"message_count": len(items), "last_activity": None}
        manager = SessionManager.from_settings(self.settings)
        return await manager.get_session_stats(self.session_id)

    def _forget_memory(self) -> None:
        for session in self._memory.values():
            session.close()
        self._memory.clear()

    def close(self) -> None:
        self._forget_memory()

    # --- the app database, for slash commands -----------------------------------------------

    def tasks(self, status: task_queries.Status = "open") -> list[Task]:
        with self.database.session() as session:
            return task_queries.list_tasks(session, self.user_id, status)

    def history(self) -> list[Message]:
        if self.conversation_id is None:
            return []
        with self.database.session() as session:
            return message_queries.list_messages(session, self.conversation_id)

    def title(self) -> str:
        if self.conversation_id is None:
            return ""
        with self.database.session() as session:
            return conversation_queries.get_conversation(
                session, self.user_id, self.conversation_id
            ).title


def _text_delta(event: Any) -> str | None:
    if getattr(event, "type", None) != "raw_response_event":
        return None
    data = event.data
    return data.delta if getattr(data, "type", None) == "response.output_text.delta" else None
