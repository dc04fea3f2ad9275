"""Agent-memory administration across both stores: the core of `todochat sessions …`.

Which sessions are the caller's comes from the app database (a session id embeds the user
and conversation ids); what they hold comes from `SessionManager`. Privacy rules live here:
a user sees and changes only their own sessions, and sessions are described as conversations
(short id, title; the user's name for operators), never by session id. Only operators
(`all_users=True`) see everyone's, and only they name a session by id.

Imports neither Typer nor Rich. The app database (SQLAlchemy) is imported only by the
functions that need it, so `cleanup` and the Prometheus totals never load it.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from todochat import lookup
from todochat.config import Settings
from todochat.errors import NotFoundError
from todochat.identity import short_id, user_id_for
from todochat.memory.manager import SessionManager
from todochat.memory.sdk_session import get_session_id, parse_session_id, user_prefix
from todochat.memory.store import SessionRow

if TYPE_CHECKING:
    from todochat.db import Database


@dataclass(frozen=True)
class Target:
    """One agent session a command acts on, how to name it, and whose conversation it is."""

    session_id: str
    label: str
    owner: tuple[uuid.UUID, uuid.UUID] | None  # (user id, conversation id); None: foreign id


def conversation_target(settings: Settings, ref: str) -> Target:
    """The caller's conversation `ref` (full id or unique prefix); `NotFoundError` otherwise."""
    found = lookup.conversation(settings.database_url, settings.user, ref)
    return Target(
        get_session_id(found.user_id, found.id),
        f"conversation {short_id(found.id)}",
        (found.user_id, found.id),
    )


def named_target(session_id: str) -> Target:
    """An agent session an operator named by id (ours or any other tool's)."""
    return Target(session_id, "the named session", parse_session_id(session_id))


def resolve_target(settings: Settings, conversation: str | None, session_id: str | None) -> Target:
    """The operator's named session when given, else the caller's conversation."""
    return named_target(session_id) if session_id else conversation_target(settings, conversation)


def scope_prefix(settings: Settings, all_users: bool) -> str:
    """The session-id prefix the caller may see: theirs, or everyone's ("")."""
    if all_users:
        return ""
    return user_prefix(user_id_for(settings.user))  # no app database needed


# --- reading -------------------------------------------------------------------------------


async def list_memories(settings: Settings, all_users: bool) -> list[dict[str, Any]]:
    """The caller's (or, for operators, every) agent memory as conversations, newest first."""
    prefix = scope_prefix(settings, all_users)
    rows = await SessionManager.from_settings(settings).list_sessions(prefix)
    return describe(settings, rows, all_users)


async def memory_totals(
    settings: Settings, all_users: bool, largest: int = 5, deep: bool = False
) -> dict[str, Any]:
    """File-wide figures (anyone may see them) and the caller's largest sessions.

    `largest=0` skips the per-session part, and with it the app database. `deep` measures
    the corrupt-item count now (a full scan) instead of showing the last recorded one.
    """
    manager = SessionManager.from_settings(settings)
    figures = await manager.totals(largest, scope_prefix(settings, all_users), deep)
    rows = figures["largest_sessions"]
    # The caller's own sessions are named by short id alone, so totals need no app database.
    figures["largest_sessions"] = describe(settings, rows, True) if all_users else _short(rows)
    return {"path": manager.db_path, **figures}


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


async def session_stats(settings: Settings, target: Target) -> dict[str, Any]:
    """Counts by kind, bytes and times of one session."""
    return await SessionManager.from_settings(settings).get_session_stats(target.session_id)


def describe(settings: Settings, rows: Sequence[SessionRow], all_users: bool) -> list[dict]:
    """Sessions as conversations: short id, title, items, times and, for operators, the user.

    A session id that is not ours (another tool's) shows as conversation None.
    """
    if not rows:
        return []
    parsed = {row.session_id: parse_session_id(row.session_id) for row in rows}
    found, names = _conversations(settings, [p[1] for p in parsed.values() if p])
    described = []
    for row in rows:
        ids = parsed[row.session_id]
        conversation = found.get(ids[1]) if ids else None
        entry = {
            "conversation": short_id(conversation.id) if conversation else None,
            "conversation_id": str(conversation.id) if conversation else None,
            "title": (conversation.title if conversation else "") or "",
            "items": row.items,
            "last_activity": row.last_activity,
            "created_at": row.created_at,
        }
        if all_users:
            entry["user"] = names.get(conversation.user_id) if conversation else None
        described.append(entry)
    return described


def _conversations(settings: Settings, ids: list[uuid.UUID]) -> tuple[dict, dict]:
    """Conversations by id, and their users' names by user id."""
    from todochat.db import conversations as conversation_queries
    from todochat.db import open_database
    from todochat.db.models import User

    with open_database(settings.database_url).session() as session:
        found = conversation_queries.conversations_by_id(session, ids)
        names = {c.user_id: session.get(User, c.user_id).name for c in found.values()}
    return found, names


# --- changing ------------------------------------------------------------------------------


async def prune(settings: Settings, target: Target) -> int:
    """Trim one session to AGENT_SESSION_MAX_MESSAGES items at a turn start; items removed."""
    return await SessionManager.from_settings(settings).prune_session_messages(target.session_id)


async def prune_all(settings: Settings, all_users: bool) -> tuple[int, int]:
    """Prune every session of the caller (every one, for operators): (sessions, items)."""
    prefix = scope_prefix(settings, all_users)
    return await SessionManager.from_settings(settings).prune_sessions(prefix)


async def clear(settings: Settings, target: Target) -> int:
    """Forget one session: a fresh start without rebuild for our conversations; items removed."""
    manager = SessionManager.from_settings(settings)
    if target.owner is None:  # another tool's session: no conversation to mark
        return await manager.clear_session(target.session_id)
    from todochat.db import open_database

    database = open_database(settings.database_url)
    return await clear_conversation_memory(manager, database, *target.owner)


async def clear_conversation_memory(
    manager: SessionManager, database: Database, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> int:
    """Forget a conversation's agent memory so its next turn starts afresh; items removed.

    The reset is recorded in the app database first: should deleting the memory then fail,
    the user clears again; the other order could leave empty memory without the mark, and
    the next turn would rebuild from the log what the user asked to forget.
    """
    record_reset(database, user_id, conversation_id)
    return await manager.clear_session(get_session_id(user_id, conversation_id))


def record_reset(database: Database, user_id: uuid.UUID, conversation_id: uuid.UUID) -> bool:
    """Mark an explicit clear (the rebuild from the log starts after it); False: no such one."""
    from todochat.db import conversations as conversation_queries

    with database.session() as session:
        try:
            found = conversation_queries.get_conversation(session, user_id, conversation_id)
        except NotFoundError:
            return False
        conversation_queries.mark_memory_reset(session, found)
        return True


# --- cron -------------------------------------------------------------------------------------


def cron_line(settings: Settings) -> str:
    """A crontab line for AGENT_SESSION_CLEANUP_HOUR with absolute paths.

    It runs from the current directory (so `.env` applies) with the memory path pinned.
    """
    executable = shutil.which("todochat") or ""
    sibling = Path(sys.executable).parent / "todochat"
    if sibling.exists():
        executable = str(sibling)
    command = (
        shlex.quote(executable) if executable else f"{shlex.quote(sys.executable)} -m todochat"
    )
    memory = Path(settings.agent_session_db_path).absolute()
    line = (
        f"0 {settings.agent_session_cleanup_hour} * * * cd {shlex.quote(str(Path.cwd()))} && "
        f"AGENT_SESSION_DB_PATH={shlex.quote(str(memory))} {command} cleanup"
    )
    return line.replace("%", r"\%")  # cron turns a bare % into a newline
