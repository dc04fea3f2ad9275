"""The application core: the one thing every front end receives.

`App(settings)` owns the two stores and opens each on first use; `app.user(name)` is one
user's view of them, scoped by construction: `.log` (conversations, messages, search,
history, export, forget), `.tasks` (pages, undo, how changes read) and `.memory` (their
agent memory, named as conversations), and `.chat()` for turns. The CLI, the REPL's slash
commands, the HTTP server and cron call these; none of them opens a store itself, so a
feature exists once and is rendered two or three ways.

Importing this module loads neither SQLAlchemy nor the Agents SDK: `cleanup` and the memory
figures never need the app database, and only a turn needs a model.
"""

from __future__ import annotations

import uuid
from datetime import tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any

from todochat.config import Settings, hide_password
from todochat.identity import user_id_for

if TYPE_CHECKING:
    from todochat.access.tokens import ApiTokens
    from todochat.db import Database
    from todochat.log.importer import ImportReport
    from todochat.log.user_log import UserLog
    from todochat.memory.facade import UserMemory
    from todochat.memory.manager import SessionManager
    from todochat.tasks.user_tasks import UserTasks
    from todochat.turn import ChatService, Notice


class App:
    """Both stores of one configuration, opened lazily and shared by everything that runs."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @cached_property
    def database(self) -> Database:
        """The app database (SQLAlchemy is imported here, by the first command needing it)."""
        from todochat.db import open_database

        return open_database(self.settings.database_url)

    @cached_property
    def memory(self) -> SessionManager:
        """The agent-memory file's administration (the spec's `SessionManager`)."""
        from todochat.memory.manager import SessionManager

        return SessionManager.from_settings(self.settings)

    @cached_property
    def timezone(self) -> tzinfo:
        """The zone dates are read and shown in (TODOCHAT_TIMEZONE, else the machine's)."""
        from todochat.tasks import dates

        return dates.local_timezone(self.settings.timezone)

    @cached_property
    def tokens(self) -> ApiTokens:
        """The bearer tokens `todochat serve` accepts (`todochat tokens` makes them)."""
        from todochat.access.tokens import ApiTokens

        return ApiTokens(self.database)

    async def prometheus_text(self) -> str:
        """What `sessions stats --format prometheus` prints: the file-wide figures (the
        server's `/metrics`)."""
        from todochat.memory.prometheus import prometheus_text

        return prometheus_text(await self.user().memory.totals(False, 0))

    def open_stores(self) -> None:
        """Create what is missing of both stores now: the app database's schema and the
        agent-memory file. A server does this before its first request: turns that all
        start on a new memory file at once raced to create it (one read a file whose
        tables another had not made yet)."""
        from todochat.memory import store

        self.database.ensure_schema()
        store.ensure_file(store.usable_path(self.settings.agent_session_db_path))

    def warm_up(self) -> None:
        """Import the agent stack and build the model ahead of the first turn (a server runs
        this in a thread as it starts). A failure is left for a turn to report in its words."""
        try:
            import todochat.agent.todo_agent  # noqa: F401  (agents, openai, the tools)
            from todochat.agent.models import configure_sdk, resolve_model
            from todochat.agent.offline import warm_up

            configure_sdk(self.settings)
            resolve_model(self.settings, self.settings.model)
            warm_up()
        except Exception:
            pass

    def close(self) -> None:
        """Give back the app database's pooled connections (a server that stops)."""
        if "database" in self.__dict__:
            self.database.dispose()

    def user(self, name: str | None = None) -> User:
        """One user's view of the stores (`name` defaults to TODOCHAT_USER or the login)."""
        return User(self, name or self.settings.user)

    def user_by_id(self, user_id: uuid.UUID) -> User | None:
        """The user with this id (an operator names a session, and so its owner, by id);
        None when there is none."""
        from todochat.db.models import User as UserRow

        with self.database.session() as db:
            found = db.get(UserRow, user_id)
            return self.user(found.name) if found is not None else None

    def locations(self) -> dict[str, Any]:
        """Where data lives and where model traffic goes (`todochat info`, like `llm logs
        path` or aichat's `--info`); passwords hidden, the key's state but never the key."""
        from todochat.agent.models import describe_model

        settings, dotenv = self.settings, self.settings.dotenv
        key = "set" if settings.openai_api_key else "none"
        return {
            "user": settings.user,
            "data_dir": settings.data_dir,
            "database_url": hide_password(settings.database_url),
            "memory_file": settings.agent_session_db_path,
            "history_file": settings.history_file,
            "dotenv": dotenv.path if dotenv else None,
            "dotenv_keys": sorted(dotenv.keys) if dotenv else [],
            "model": describe_model(settings),
            "api_key": "withheld" if settings.key_withheld else key,
            "earlier_data_dir": settings.legacy_data_dir,
        }

    # --- operators: every user at once ------------------------------------------------------

    def export_everyone(self) -> dict[str, Any]:
        """Every user's whole log and tasks as one export document."""
        from todochat.log.export import build_export

        return build_export(self.database, None, None)

    def import_file(self, path: str) -> ImportReport:
        """Load an export file into the app database: checked whole first, then written in
        one transaction (all or nothing)."""
        from todochat.log.importer import import_file

        return import_file(self.database, path)


class User:
    """A user's log, tasks and memory: every query below is scoped to `id`."""

    def __init__(self, app: App, name: str):
        self.app = app
        self.name = name
        self.id = user_id_for(name)  # derived: memory and admin need no app database

    @cached_property
    def log(self) -> UserLog:
        from todochat.log.user_log import UserLog

        return UserLog(self)

    @cached_property
    def tasks(self) -> UserTasks:
        from todochat.tasks.user_tasks import UserTasks

        return UserTasks(self)

    @cached_property
    def memory(self) -> UserMemory:
        from todochat.memory.facade import UserMemory

        return UserMemory(self)

    async def undo(self, conversation_id: uuid.UUID) -> str:
        """Undo the conversation's last change to the tasks, and tell its agent memory, so
        the next turn's model, whichever it is, knows the task came back or went away.

        The undo stands when memory cannot be told (a locked or full file): the line says so.
        """
        from todochat.errors import MemoryStoreError

        self.log.get(conversation_id)  # the user's own, or "not found"
        line = self.tasks.undo(conversation_id)
        try:
            await self.memory.note(conversation_id, line)
        except MemoryStoreError as exc:
            return f"{line}\nWarning: agent memory was not told of the undo ({exc})."
        return line

    def chat(self, *, model: str | None = None, notice: Notice | None = None) -> ChatService:
        """A chat for turns (a new conversation until one is chosen); creates the user."""
        from todochat.turn import ChatService

        return ChatService(self, model=model, notice=notice)
