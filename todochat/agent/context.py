"""Who a run acts for. Tools reach data only through this, never through their arguments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from todochat.db import Database, open_database
from todochat.errors import TodochatError


class NoUserError(TodochatError):
    """A run without a user: its tools refuse to touch any task."""


@dataclass(frozen=True)
class TodoContext:
    """The run context: the acting user and the app database holding their tasks."""

    user_id: uuid.UUID
    database: Database


def resolve_context(context: Any) -> TodoContext:
    """Accept our typed context or the spec's `{"user_id": "..."}` dict (configured database)."""
    if isinstance(context, TodoContext):
        return context
    if isinstance(context, dict) and context.get("user_id"):
        from todochat.config import get_settings

        try:
            user_id = uuid.UUID(str(context["user_id"]))
        except ValueError:
            raise NoUserError(f"the run's user_id is not a UUID: {context['user_id']!r}") from None
        database = context.get("database") or open_database(get_settings().database_url)
        return TodoContext(user_id, database)
    raise NoUserError("this run has no user: pass context={'user_id': ...}")
