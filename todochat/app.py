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

from datetime import tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any

from todochat.config import Settings
from todochat.identity import user_id_for

if TYPE_CHECKING:
    from todochat.api_tokens import ApiTokens
    from todochat.chat.service import ChatService, Notice
    from todochat.db import Database
    from todochat.importer import ImportReport
    from todochat.log.user_log import UserLog
    from todochat.memory.facade import UserMemory
    from todochat.memory.manager import SessionManager
    from todochat.tasks.user_tasks import UserTasks


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
        from todochat import dates

        return dates.local_timezone(self.settings.timezone)

    @cached_property
    def tokens(self) -> ApiTokens:
        """The bearer tokens `todochat serve` accepts (`todochat tokens` makes them)."""
        from todochat.api_tokens import ApiTokens

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

    # --- operators: every user at once ------------------------------------------------------

    def export_everyone(self) -> dict[str, Any]:
        """Every user's whole log and tasks as one export document."""
        from todochat.export import build_export

        return build_export(self.database, None, None)

    def import_export(self, document: dict[str, Any]) -> ImportReport:
        """Load an export document (checked by `importer.read_export`) into the app database."""
        from todochat.importer import import_export

        return import_export(self.settings.database_url, document)


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

    def chat(self, *, model: str | None = None, notice: Notice | None = None) -> ChatService:
        """A chat for turns (a new conversation until one is chosen); creates the user."""
        from todochat.chat.service import ChatService

        return ChatService(self, model=model, notice=notice)
