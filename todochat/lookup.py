"""The caller in the app database: their user id, and their conversation by id or prefix.

Shared by the commands. Reads only: an unknown name is no error here, it simply owns nothing
(the chat creates a user on first use). SQLAlchemy is imported on the first call, not with
this module, so commands that never reach the app database do not pay for it.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from todochat.db.models import Conversation


def user_id(database_url: str, name: str) -> uuid.UUID | None:
    """The id of the user called `name`, or None when nobody of that name has chatted yet."""
    from todochat.db import open_database
    from todochat.db import users as user_queries

    with open_database(database_url).session() as session:
        user = user_queries.find_user(session, name)
        return user.id if user else None


def conversation(database_url: str, name: str, ref: str) -> Conversation:
    """The conversation of user `name` whose id is `ref` or starts with it.

    Raises `NotFoundError` (no such conversation of theirs) or `AmbiguousError`.
    """
    from todochat.db import conversations as conversation_queries
    from todochat.db import open_database
    from todochat.errors import NotFoundError

    owner = user_id(database_url, name)
    if owner is None:
        raise NotFoundError(f"no conversation {ref!r} (see `todochat conversations`)")
    with open_database(database_url).session() as session:
        return conversation_queries.resolve_conversation(session, owner, ref)


def latest(database_url: str, name: str) -> Conversation:
    """The conversation user `name` was last active in (`-c` / `--latest`, as `chat -c`).

    Raises `NotFoundError` when they have none yet.
    """
    from todochat.db import conversations as conversation_queries
    from todochat.db import open_database
    from todochat.errors import NotFoundError

    owner = user_id(database_url, name)
    found = None
    if owner is not None:
        with open_database(database_url).session() as session:
            found = conversation_queries.latest_conversation(session, owner)
    if found is None:
        raise NotFoundError("no conversation yet: start one with `todochat chat`")
    return found
