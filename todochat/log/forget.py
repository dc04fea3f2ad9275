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
from typing import TYPE_CHECKING

from todochat import private
from todochat.config import history_file_for
from todochat.errors import TodochatError
from todochat.log import conversations as conversation_queries
from todochat.memory import store
from todochat.memory.sdk import get_session_id, parse_session_id, user_prefix
from todochat.turn import conversation_turn

if TYPE_CHECKING:
    from todochat.app import User


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


async def forget_conversations(user: User, conversation_ids: list[uuid.UUID]) -> ForgetReport:
    """Forget these conversations of `user`, each under its turn lock."""
    app = user.app
    report = ForgetReport()
    memory_path = store.usable_path(app.settings.agent_session_db_path)
    for conversation_id in dict.fromkeys(conversation_ids):
        async with conversation_turn(app.database, memory_path, conversation_id):
            session_id = get_session_id(user.id, conversation_id)
            report.memory_items += await app.memory.clear_session(session_id)
            conversations, messages = _delete_log(user, [conversation_id])
        report.conversations += conversations
        report.messages += messages
    return report


async def forget_everything(user: User, with_tasks: bool) -> ForgetReport:
    """Forget all of the user's conversations, agent memory and input history (and tasks).

    Each conversation goes under its turn lock, as in `forget_conversations`, so a turn
    running meanwhile cannot rebuild memory from a log about to go. Rounds repeat until
    neither store names a conversation of the user: one a turn started meanwhile goes too.
    """
    report = ForgetReport()
    for _round in range(ROUNDS):
        found = await _remembered(user)
        if not found:
            break
        report.add(await forget_conversations(user, found))
    else:
        raise TodochatError(f"{user.name} kept starting conversations: run forget again")
    report.warning = _forget_history(user)
    if with_tasks:
        report.tasks = _delete_tasks(user)
    return report


# How many times `forget --all` looks again for conversations begun while it ran.
ROUNDS = 10


async def _remembered(user: User) -> list[uuid.UUID]:
    """Every conversation of the user in the log or in agent memory (whose log may be gone)."""

    with user.app.database.session() as db:
        found = dict.fromkeys(conversation_queries.user_conversation_ids(db, user.id))
    for row in await user.app.memory.list_sessions(user_prefix(user.id)):
        parsed = parse_session_id(row.session_id)
        if parsed is not None:
            found[parsed[1]] = None
    return list(found)


def _forget_history(user: User) -> str | None:
    """The input history holds every line the user typed: it goes with their log. A file
    that is not ours (a symlink, another account's) was never written to (see
    `repl.input_history`): it is left, and the warning says so."""

    settings = user.app.settings
    same = user.name == settings.user  # its file was resolved with the settings
    path = settings.history_file if same else history_file_for(settings.data_dir, user.name)
    why = private.remove_if_ours(path)
    if why is None:
        return None
    return f"the input history {path} is {why}: it was left untouched"


def _delete_log(user: User, ids: list[uuid.UUID] | None) -> tuple[int, int]:

    with user.app.database.session() as db:
        return conversation_queries.delete_conversations(db, user.id, ids)


def _delete_tasks(user: User) -> int:
    from todochat.tasks import queries as task_queries

    with user.app.database.session() as db:
        return task_queries.delete_all_tasks(db, user.id)
