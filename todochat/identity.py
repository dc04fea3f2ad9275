"""A user's id is derived from their name.

So agent memory, keyed by user id, stays attached to its owner when the app database moves
(SQLite to PostgreSQL), and admin commands can scope to the caller's sessions without
opening the app database at all.
"""

from __future__ import annotations

import uuid

USER_NAMESPACE = uuid.UUID("6f1d3a52-8c1e-5b7a-9d0e-2a4b6c8e0f11")


def user_id_for(name: str) -> uuid.UUID:
    """The stable id of the user called `name`."""
    return uuid.uuid5(USER_NAMESPACE, name)


def short_id(conversation_id: uuid.UUID) -> str:
    """A conversation's first 8 hex digits: what people type, and what output shows."""
    return conversation_id.hex[:8]
