"""Who a run acts for. Tools reach data only through this, never through their arguments."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from todochat.db import Database, open_database


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

        database = context.get("database") or open_database(get_settings().database_url)
        return TodoContext(uuid.UUID(str(context["user_id"])), database)
    raise PermissionError("this run has no user: pass context={'user_id': ...}")
