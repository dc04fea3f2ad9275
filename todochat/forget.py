"""Forgetting conversations: out of the durable log AND out of agent memory.

Memory goes first, then the log, one conversation at a time under its turn lock: a turn
running in a REPL meanwhile finishes before (and is then forgotten with the rest) or
starts after (and finds its conversation gone, so it starts a new one). Should a step
fail, what is left is a conversation still in the log, which the user can forget again;
never memory rebuilt later from a log that was meant to be gone. `forget --all` does the
same for every conversation either store names, then deletes the user's input history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from todochat import private
from todochat.config import Settings
from todochat.errors import TodochatError
from todochat.memory import store
from todochat.memory.manager import SessionManager
from todochat.memory.sdk_session import get_session_id, parse_session_id, user_prefix
from todochat.turns import conversation_turn


@dataclass
class ForgetReport:
    conversations: int = 0
    messages: int = 0
    memory_items: int = 0
    tasks: int = 0
    warning: str | None = None  # what was left, and why

    def add(self, other: ForgetReport) -> None:
        self.conversations += other.conversations
        self.messages += other.messages
        self.memory_items += other.memory_items

    def summary(self) -> str:
        """`Forgot 2 conversations (7 messages, 6 agent-memory items).`"""
        parts = [count(self.messages, "message"), count(self.memory_items, "agent-memory item")]
        if self.tasks:
            parts.append(count(self.tasks, "task"))
        return f"Forgot {count(self.conversations, 'conversation')} ({', '.join(parts)})."


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def resolve(settings: Settings, refs: list[str]) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """(user id, conversation id, title) of each of the caller's `refs`, all or an error."""
    from todochat import lookup

    found = [lookup.conversation(settings.database_url, settings.user, ref) for ref in refs]
    unique = {c.id: (c.user_id, c.id, c.title) for c in found}
    return list(unique.values())


async def forget_conversations(
    settings: Settings, targets: list[tuple[uuid.UUID, uuid.UUID, str]]
) -> ForgetReport:
    """Forget these conversations (from `resolve`), each under its turn lock."""
    from todochat.db import open_database

    report = ForgetReport()
    database = open_database(settings.database_url)
    memory_path = store.usable_path(settings.agent_session_db_path)
    for user_id, conversation_id, _title in targets:
        async with conversation_turn(database, memory_path, conversation_id):
            report.memory_items += await _forget_memory(settings, user_id, conversation_id)
            conversations, messages = _delete_log(settings, user_id, [conversation_id])
        report.conversations += conversations
        report.messages += messages
    return report


async def forget_everything(settings: Settings, with_tasks: bool) -> ForgetReport:
    """Forget all of the caller's conversations, agent memory and input history (and tasks).

    Each conversation goes under its turn lock, as in `forget_conversations`, so a turn
    running meanwhile cannot rebuild memory from a log about to go. Rounds repeat until
    neither store names a conversation of the caller: one a turn started meanwhile goes too.
    """
    from todochat import lookup
    from todochat.identity import user_id_for

    report = ForgetReport()
    user_id = lookup.user_id(settings.database_url, settings.user) or user_id_for(settings.user)
    for _round in range(ROUNDS):
        targets = [(user_id, c, "") for c in await _remembered(settings, user_id)]
        if not targets:
            break
        report.add(await forget_conversations(settings, targets))
    else:
        raise TodochatError(f"{settings.user} kept starting conversations: run forget again")
    report.warning = _forget_history(settings)
    if with_tasks:
        report.tasks = _delete_tasks(settings, user_id)
    return report


# How many times `forget --all` looks again for conversations begun while it ran.
ROUNDS = 10


async def _remembered(settings: Settings, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Every conversation of the user in the log or in agent memory (whose log may be gone)."""
    from todochat.db import conversations as conversation_queries
    from todochat.db import open_database

    with open_database(settings.database_url).session() as db:
        found = dict.fromkeys(conversation_queries.user_conversation_ids(db, user_id))
    manager = SessionManager.from_settings(settings)
    for row in await manager.list_sessions(user_prefix(user_id)):
        parsed = parse_session_id(row.session_id)
        if parsed is not None:
            found[parsed[1]] = None
    return list(found)


def _forget_history(settings: Settings) -> str | None:
    """The input history holds every line the user typed: it goes with their log. A file
    that is not ours (a symlink, another account's) was never written to (see
    `chat.input_history`): it is left, and the warning says so."""
    why = private.remove_if_ours(settings.history_file)
    if why is None:
        return None
    return f"the input history {settings.history_file} is {why}: it was left untouched"


async def _forget_memory(settings: Settings, user_id: uuid.UUID, conversation_id: uuid.UUID):
    manager = SessionManager.from_settings(settings)
    return await manager.clear_session(get_session_id(user_id, conversation_id))


def _delete_log(settings: Settings, user_id: uuid.UUID, ids: list[uuid.UUID] | None):
    from todochat.db import conversations as conversation_queries
    from todochat.db import open_database

    with open_database(settings.database_url).session() as session:
        return conversation_queries.delete_conversations(session, user_id, ids)


def _delete_tasks(settings: Settings, user_id: uuid.UUID) -> int:
    from todochat.db import open_database
    from todochat.db import tasks as task_queries

    with open_database(settings.database_url).session() as session:
        return task_queries.delete_all_tasks(session, user_id)
