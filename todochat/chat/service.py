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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm.exc import StaleDataError

from todochat.agent import memory_store, recovery
from todochat.agent.retry import is_locked, retry_locked, retry_locked_async
from todochat.agent.session import get_session_id
from todochat.chat.turn_lock import conversation_turn, lock_dir
from todochat.config import Settings
from todochat.db import Database, open_database
from todochat.db import conversations as conversation_queries
from todochat.db import messages as message_queries
from todochat.db import tasks as task_queries
from todochat.db import users as user_queries
from todochat.db.models import Conversation, Message, Task
from todochat.errors import MemoryStoreError, NotFoundError

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
            conversation = self._current_or_new(session)
            conversation_queries.touch_conversation(session, conversation, text)
            message = message_queries.add_message(
                session, conversation.id, message_queries.USER, text
            )
        self._checked = conversation
        return message

    def _current_or_new(self, session) -> Conversation:
        """This conversation, or a new one when there is none yet or it was forgotten."""
        if self.conversation_id is not None:
            try:
                return conversation_queries.get_conversation(
                    session, self.user_id, self.conversation_id
                )
            except NotFoundError:  # `todochat forget` removed it while we were open on it
                self.notice(
                    f"Conversation {self.short_id} was forgotten; "
                    "this message starts a new conversation."
                )
        conversation = conversation_queries.create_conversation(session, self.user_id)
        self.conversation_id = conversation.id
        return conversation

    def save_reply(self, text: str) -> None:
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
                message_queries.add_message(
                    session, conversation.id, message_queries.ASSISTANT, text
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

        try:
            async with conversation_turn(self._lock_dir, self.conversation_id):
                memory = await self._memory_for_turn(message.id)
                reply = await self._run_agent(text, memory, emit)
                # Pruning memory (a worker thread, SQLite) overlaps saving the reply (the app
                # database); neither depends on the other.
                pruned = asyncio.ensure_future(asyncio.to_thread(self.prune_memory))
                try:
                    self.save_reply(reply)
                except NotFoundError:  # `forget --all` ran meanwhile (it takes no turn lock)
                    await self._forgotten_meanwhile(pruned)
                finally:
                    await pruned
        except asyncio.CancelledError:
            partial = "".join(parts).rstrip()
            self.save_reply(f"{partial}\n\n{CANCELLED_MARK}" if partial else CANCELLED_MARK)
            raise
        return TurnResult(reply)

    async def _forgotten_meanwhile(self, pruned: asyncio.Future) -> None:
        """The conversation was forgotten during this turn: what the turn put in agent
        memory goes too, and the next message starts a new conversation."""
        from todochat.agent.session_manager import SessionManager

        await pruned
        await SessionManager.from_settings(self.settings).clear_session(self.session_id)
        self.notice(
            f"Conversation {self.short_id} was forgotten during this turn: this reply is not "
            "kept, and your next message starts a new conversation."
        )
        self.conversation_id = None

    async def _memory_for_turn(self, message_id: int) -> SQLiteSession:
        """Prepared memory, retried while locked; any other storage failure is one line."""
        try:
            return await retry_locked_async(lambda: self._prepared_memory(message_id))
        except (OSError, sqlite3.Error) as exc:
            path = self.settings.agent_session_db_path
            raise MemoryStoreError(f"cannot use agent memory at {path}: {exc}") from None

    @property
    def _lock_dir(self) -> Path:
        return lock_dir(self.settings.agent_session_db_path, self.settings.data_dir)

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

    @property
    def session_id(self) -> str:
        return get_session_id(self.user_id, self.conversation_id)

    def memory(self) -> SQLiteSession:
        """This conversation's agent session (one per conversation, reused across turns)."""
        from todochat.agent.session import get_agent_session

        if self.conversation_id not in self._memory:
            path = self.settings.agent_session_db_path
            try:
                self._memory[self.conversation_id] = get_agent_session(
                    self.user_id,
                    self.conversation_id,
                    path,
                    self.settings.agent_session_max_messages,
                )
            except sqlite3.OperationalError as exc:
                if is_locked(exc):
                    raise
                raise MemoryStoreError(f"cannot open agent memory at {path}: {exc}") from None
            except (OSError, sqlite3.Error) as exc:
                raise MemoryStoreError(f"cannot open agent memory at {path}: {exc}") from None
        return self._memory[self.conversation_id]

    async def _prepared_memory(self, message_id: int) -> SQLiteSession:
        """Open memory, moving an unreadable file aside and refilling an emptied one from the log."""
        memory, moved, empty = await asyncio.to_thread(self._open_memory)
        if moved is not None:
            self.notice(
                f"Agent memory was unreadable; moved it to {moved.name} and started afresh."
            )
        if empty is None:  # `:memory:`: only the session object knows
            empty = not await memory.get_items(limit=1)
        if empty:
            await self._rebuild(memory, message_id)
        return memory

    def _open_memory(self) -> tuple[SQLiteSession, Path | None, bool | None]:
        """(session, where an unreadable file went, whether the session is empty).

        One trip to a worker thread and one connection for the checks of every turn.
        """
        path = self.settings.agent_session_db_path
        moved = None
        if not recovery.check_readable(path, self.session_id):
            self._forget_memory()
            moved = recovery.move_aside(path)
        memory = self.memory()
        return memory, moved, self._touch_and_repair(path)

    def _touch_and_repair(self, path: str) -> bool | None:
        """Mark this session active (a cleanup running now keeps it), drop corrupt items, and
        say whether it is empty (None for `:memory:`)."""
        if path == ":memory:":
            return None

        def run() -> bool:
            with closing(memory_store.connect(path)) as conn:
                memory_store.touch_session(conn, self.session_id)
                memory_store.remove_corrupt_items(conn, self.session_id)
                # What is left is valid JSON objects only, so "no row" is "no item".
                return not memory_store.has_items(conn, self.session_id)

        return retry_locked(run)

    async def _rebuild(self, memory: SQLiteSession, message_id: int) -> None:
        """An expired or lost memory is rebuilt from the log; an explicit clear is respected."""
        with self.database.session() as session:
            conversation = conversation_queries.get_conversation(
                session, self.user_id, self.conversation_id
            )
            logged = message_queries.list_messages(
                session, conversation.id, conversation.memory_reset_at
            )
        earlier = [m for m in logged if m.id < message_id]  # this turn's message is the input
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
        from todochat.agent.memory_admin import clear_conversation_memory
        from todochat.agent.session_manager import SessionManager

        if self.conversation_id is None:
            return
        # A `:memory:` database lives only inside this process's session object.
        session = self.memory() if self.settings.memory_is_ephemeral else None
        await clear_conversation_memory(
            SessionManager.from_settings(self.settings),
            self.database,
            self.user_id,
            self.conversation_id,
            session,
        )

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
        """This conversation's title; "" before its first message or once it is forgotten
        (the toolbar asks on every redraw and must not fail)."""
        if self.conversation_id is None:
            return ""
        with self.database.session() as session:
            try:
                conversation = conversation_queries.get_conversation(
                    session, self.user_id, self.conversation_id
                )
            except NotFoundError:
                return ""
            return conversation.title

    def conversations(self, limit: int = 20) -> list[conversation_queries.ConversationSummary]:
        with self.database.session() as session:
            return conversation_queries.list_conversations(session, self.user_id, limit)

    def search(self, query: str, limit: int = 20) -> list:
        from todochat.db.search import search_messages

        with self.database.session() as session:
            return search_messages(session, self.user_id, query, limit)

    def rename(self, title: str) -> str:
        """Title this conversation; `NotFoundError` before its first message."""
        if self.conversation_id is None:
            raise NotFoundError("no conversation yet: send a message first")
        with self.database.session() as session:
            conversation = conversation_queries.get_conversation(
                session, self.user_id, self.conversation_id
            )
            return conversation_queries.rename_conversation(session, conversation, title)

    def export(self) -> dict[str, Any]:
        """This conversation as an export document (`todochat.export`)."""
        from todochat.export import build_export

        if self.conversation_id is None:
            raise NotFoundError("no conversation yet: send a message first")
        return build_export(self.settings.database_url, self.user_name, [self.conversation_id.hex])


def clean_text(text: str) -> str:
    """What can be stored on every backend: invalid UTF-8 becomes U+FFFD, NUL bytes go."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "")


def _text_delta(event: Any) -> str | None:
    if getattr(event, "type", None) != "raw_response_event":
        return None
    data = event.data
    return data.delta if getattr(data, "type", None) == "response.output_text.delta" else None
