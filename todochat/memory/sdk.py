"""Session ids and the SDK's `SQLiteSession`: the only module that constructs SDK sessions.

Uses the SDK's documented API only: a plain `SQLiteSession` on our file, with the item limit
in its `SessionSettings`. The file is created by `store.create_file` first (mode 0600, our
indexes), so the SDK never creates it with the process umask.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING
from uuid import UUID

from todochat.config import get_settings
from todochat.memory import store

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


def get_agent_session(
    user_id: UUID | str,
    conversation_id: UUID | str,
    db_path: str | None = None,
    max_messages: int | None = None,
) -> SQLiteSession:
    """The SDK session for this user's conversation; the same ids give the same history.

    `db_path` and `max_messages` default to AGENT_SESSION_DB_PATH and
    AGENT_SESSION_MAX_MESSAGES. A missing file is created first (mode 0600); a file that is
    not a SQLite database raises `MemoryStoreError` and is left untouched.
    """
    if db_path is None or max_messages is None:
        settings = get_settings()
        db_path = db_path or settings.agent_session_db_path
        max_messages = max_messages or settings.agent_session_max_messages
    path = store.usable_path(str(db_path))
    store.ensure_file(path)
    return open_sdk_session(get_session_id(user_id, conversation_id), path, max_messages)


def open_sdk_session(session_id: str, path: str, max_items: int) -> SQLiteSession:
    """A plain SDK `SQLiteSession` on an existing file, reading at most `max_items` items.

    The SDK is imported here, not with the module: `import agents` takes about a second, and
    admin commands, which never make a session, must start fast.
    """
    from agents import SQLiteSession
    from agents.memory import SessionSettings

    return SQLiteSession(
        session_id, db_path=path, session_settings=SessionSettings(limit=max_items)
    )


def open_turn_session(session_id: str, path: str, max_items: int) -> SQLiteSession:
    """The SDK session a chat turn runs on: `open_sdk_session`'s, holding what the run adds.

    The SDK writes a streamed run's items as it goes (the input, then each step: two to
    four write transactions a turn). Held here, they are written once the turn ends, with
    its bookkeeping, in one transaction (`TurnMemory.finish`). A run that fails leaves
    nothing, as a rebuild from the log would (a question without a reply is left out).
    """
    from agents.memory import SessionSettings

    memory = _turn_session_class()(
        session_id, db_path=path, session_settings=SessionSettings(limit=max_items)
    )
    memory.pending = []
    return memory


@cache
def _turn_session_class() -> type:
    """Made on first use: the SDK is imported only where a turn runs."""
    from agents import SQLiteSession

    class TurnSession(SQLiteSession):
        """The SDK's `Session` protocol over `SQLiteSession`, with `add_items` held in
        `pending`; reads see the held items after the stored ones."""

        pending: list

        async def get_items(self, limit: int | None = None) -> list:
            stored = await super().get_items(limit)
            wanted = limit if limit is not None else self.session_settings.limit
            found = stored + self.pending
            return found[-wanted:] if wanted else found

        async def add_items(self, items: list) -> None:
            self.pending.extend(items)

        async def pop_item(self):
            return self.pending.pop() if self.pending else await super().pop_item()

        async def clear_session(self) -> None:
            self.pending.clear()
            await super().clear_session()

        def take_pending(self) -> list:
            """The held items, handed over once (the next turn starts with none)."""
            taken, self.pending = self.pending, []
            return taken

    return TurnSession
