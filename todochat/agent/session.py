"""Agent memory for one conversation: the SDK's `SQLiteSession` on a persistent file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from agents import SQLiteSession


SESSION_ID = re.compile(r"user_([0-9a-f-]{36})_conv_([0-9a-f-]{36})")


def get_session_id(user_id: UUID | str, conversation_id: UUID | str) -> str:
    """`user_{uuid}_conv_{uuid}`: one session per user and conversation, never shared."""
    return f"user_{UUID(str(user_id))}_conv_{UUID(str(conversation_id))}"


def parse_session_id(session_id: str) -> tuple[UUID, UUID] | None:
    """(user id, conversation id) of one of our session ids; None for a foreign id."""
    match = SESSION_ID.fullmatch(session_id)
    if match is None:
        return None
    try:
        return UUID(match[1]), UUID(match[2])
    except ValueError:
        return None


def user_prefix(user_id: UUID | str) -> str:
    """The start every session id of this user shares."""
    zero = UUID(int=0)
    return get_session_id(user_id, zero).removesuffix(str(zero))


def prepare_memory_file(db_path: str) -> None:
    """Create the file's directory and the file itself, readable by its owner only."""
    if db_path == ":memory:":
        return
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        from todochat.agent import memory_store

        memory_store.initialize_new_file(db_path)


def get_agent_session(
    user_id: UUID | str,
    conversation_id: UUID | str,
    db_path: str | None = None,
    max_messages: int | None = None,
) -> SQLiteSession:
    """The SDK session for this user's conversation; the same ids give the same history."""
    from agents import SQLiteSession
    from agents.memory import SessionSettings

    from todochat.config import get_settings

    if db_path is None or max_messages is None:
        settings = get_settings()
        db_path = db_path or settings.agent_session_db_path
        max_messages = max_messages or settings.agent_session_max_messages
    prepare_memory_file(str(db_path))
    return SQLiteSession(
        get_session_id(user_id, conversation_id),
        db_path=str(db_path),
        session_settings=SessionSettings(limit=max_messages),
    )
