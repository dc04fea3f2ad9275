"""Agent memory, one user's view: the core of `todochat sessions …`, `/stats` and `/clear`.

Which sessions are the user's comes from the session id (it embeds the user and
conversation ids, and a user's id derives from their name); what they hold comes from
`SessionManager`. Privacy rules live here: a user sees and changes only their own sessions,
and sessions are described as conversations (short id, title; the user's name for
operators), never by session id. Only operators (`all_users=True`) see everyone's, and only
they name a session by id.

Imports neither Typer nor Rich. The app database (SQLAlchemy) is opened only by the methods
that need titles or names, so `cleanup` and the Prometheus totals never load it.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from todochat.errors import memory_failure
from todochat.identity import short_id
from todochat.memory import store
from todochat.memory.locks import retry_locked_async
from todochat.memory.sdk import get_session_id, open_sdk_session, parse_session_id, user_prefix
from todochat.memory.store import SessionRow

if TYPE_CHECKING:
    from todochat.app import User
    from todochat.memory.manager import SessionManager


@dataclass(frozen=True)
class Target:
    """One agent session a command acts on, how to name it, and whose conversation it is."""

    session_id: str
    label: str
    owner: tuple[uuid.UUID, uuid.UUID] | None  # (user id, conversation id); None: foreign id


def named_target(session_id: str) -> Target:
    """An agent session an operator named by id (ours or any other tool's)."""
    return Target(session_id, "the named session", parse_session_id(session_id))


class UserMemory:
    """A user's agent memory in the shared file, named as their conversations."""

    def __init__(self, user: User):
        self.user = user
        self.manager: SessionManager = user.app.memory

    def conversation_target(self, ref: str) -> Target:
        """The user's conversation `ref` (full id or unique prefix); `NotFoundError` otherwise."""
        found = self.user.log.conversation(ref)
        return self.target(found.id)

    def target(self, conversation_id: uuid.UUID) -> Target:
        """The session of the user's conversation `conversation_id` (`NotFoundError` when it
        is not theirs)."""
        self.user.log.get(conversation_id)
        return Target(
            get_session_id(self.user.id, conversation_id),
            f"conversation {short_id(conversation_id)}",
            (self.user.id, conversation_id),
        )

    def resolve_target(self, conversation: str | None, session_id: str | None) -> Target:
        """The operator's named session when given, else the user's conversation."""
        return named_target(session_id) if session_id else self.conversation_target(conversation)

    def scope_prefix(self, all_users: bool) -> str:
        """The session-id prefix the user may see: theirs, or everyone's ("")."""
        return "" if all_users else user_prefix(self.user.id)

    # --- reading ---------------------------------------------------------------------------

    async def list(self, all_users: bool = False) -> list[dict[str, Any]]:
        """The user's (or, for operators, every) agent memory as conversations, newest first."""
        rows = await self.manager.list_sessions(self.scope_prefix(all_users))
        return self.describe(rows, all_users)

    async def totals(
        self, all_users: bool = False, largest: int = 5, deep: bool = False
    ) -> dict[str, Any]:
        """File-wide figures (anyone may see them) and the user's largest sessions.

        `largest=0` skips the per-session part, and with it the app database. `deep` measures
        the corrupt-item count now (a full scan) instead of showing the last recorded one.
        """
        figures = await self.manager.totals(largest, self.scope_prefix(all_users), deep)
        rows = figures["largest_sessions"]
        # The user's own sessions are named by short id alone: totals need no app database.
        figures["largest_sessions"] = self.describe(rows, True) if all_users else _short(rows)
        return {"path": self.manager.db_path, **figures}

    async def stats(self, target: Target) -> dict[str, Any]:
        """Counts by kind, bytes and times of one session."""
        return await self.manager.get_session_stats(target.session_id)

    def describe(self, rows: Sequence[SessionRow], all_users: bool) -> list[dict]:
        """Sessions as conversations: short id, title, items, times and, for operators, the
        user. A session id that is not ours (another tool's) shows as conversation None."""
        if not rows:
            return []
        parsed = {row.session_id: parse_session_id(row.session_id) for row in rows}
        # The user's own only: a session under their id naming another's shows no title.
        found = self.user.log.named([p[1] for p in parsed.values() if p], everyone=all_users)
        described = []
        for row in rows:
            ids = parsed[row.session_id]
            conversation, owner = found.get(ids[1], (None, None)) if ids else (None, None)
            entry = {
                "conversation": short_id(conversation.id) if conversation else None,
                "conversation_id": str(conversation.id) if conversation else None,
                "title": (conversation.title if conversation else "") or "",
                "items": row.items,
                "last_activity": row.last_activity,
                "created_at": row.created_at,
            }
            if all_users:
                entry["user"] = owner
            described.append(entry)
        return described

    # --- changing --------------------------------------------------------------------------

    async def note(self, conversation_id: uuid.UUID, text: str) -> None:
        """Tell the conversation's agent memory what happened outside a turn (an undo): an
        assistant item, written now, that the next turn's model reads. `MemoryStoreError`
        (one line) when the file cannot take it; another user's conversation is not found."""
        session_id = self.target(conversation_id).session_id
        path, limit = self.manager.db_path, self.user.app.settings.agent_session_max_messages

        async def write() -> None:
            memory = open_sdk_session(session_id, path, limit)
            try:
                await memory.add_items([{"role": "assistant", "content": text}])
            finally:
                memory.close()

        try:
            store.ensure_file(path)
            await retry_locked_async(write)
        except (sqlite3.Error, OSError) as exc:
            raise memory_failure(exc, path) from None

    async def prune(self, target: Target) -> int:
        """Trim one session to AGENT_SESSION_MAX_MESSAGES items; items removed."""
        return await self.manager.prune_session_messages(target.session_id)

    async def prune_all(self, all_users: bool = False) -> tuple[int, int]:
        """Prune every session of the user (every one, for operators): (sessions, items)."""
        return await self.manager.prune_sessions(self.scope_prefix(all_users))

    async def clear(self, target: Target) -> int:
        """Forget one session: a fresh start without rebuild for our conversations; items
        removed.

        The reset is recorded in the app database first: should deleting the memory then
        fail, the user clears again; the other order could leave empty memory without the
        mark, and the next turn would rebuild from the log what the user asked to forget.
        """
        if target.owner is not None:  # another tool's session has no conversation to mark
            owner_id, conversation_id = target.owner
            owner = self.user.app.user_by_id(owner_id)
            if owner is not None:
                owner.log.mark_memory_reset(conversation_id)
        return await self.manager.clear_session(target.session_id)


def _short(rows: Sequence[SessionRow]) -> list[dict]:
    """Sessions as short conversation ids with their counts (no titles, no app database)."""
    entries = []
    for row in rows:
        ids = parse_session_id(row.session_id)
        entries.append(
            {
                "conversation": short_id(ids[1]) if ids else None,
                "items": row.items,
                "last_activity": row.last_activity,
                "created_at": row.created_at,
            }
        )
    return entries
