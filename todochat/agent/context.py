"""Who a run acts for. Tools reach data only through this, never through their arguments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from todochat.config import get_settings
from todochat.db import Database, open_database
from todochat.errors import TodochatError


class NoUserError(TodochatError):
    """A run without a user: its tools refuse to touch any task."""


@dataclass(frozen=True)
class TodoContext:
    """The run context: the acting user, the app database holding their tasks, and the
    conversation and user message a change is logged against (None outside a chat)."""

    user_id: uuid.UUID
    database: Database
    conversation_id: uuid.UUID | None = None
    message_id: int | None = None
    timezone: str | None = None  # TODOCHAT_TIMEZONE; None: the operating system's zone


def resolve_context(context: Any) -> TodoContext:
    """Accept our typed context or the spec's `{"user_id": "..."}` dict (configured database)."""
    if isinstance(context, TodoContext):
        return context
    if isinstance(context, dict) and context.get("user_id"):
        try:
            user_id = uuid.UUID(str(context["user_id"]))
        except ValueError:
            raise NoUserError(f"the run's user_id is not a UUID: {context['user_id']!r}") from None
        settings = get_settings()
        database = context.get("database") or open_database(settings.database_url)
        return TodoContext(user_id, database, timezone=settings.timezone)
    raise NoUserError("this run has no user: pass context={'user_id': ...}")
