"""Forgetting conversations: out of the durable log AND out of agent memory.

Memory goes first, then the log, one conversation at a time under its turn lock: a turn
running in a REPL meanwhile finishes before (and is then forgotten with the rest) or
starts after (and finds its conversation gone, so it starts a new one). Should a step
fail, what is left is a conversation still in the log, which the user can forget again;
never memory rebuilt later from a log that was meant to be gone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from todochat.memory import store
from todochat.memory.sdk_session import get_session_id, user_prefix
from todochat.turns import conversation_turn

if TYPE_CHECKING:
    from todochat.app import User


@dataclass
class ForgetReport:
    conversations: int = 0
    messages: int = 0
    memory_items: int = 0
    tasks: int = 0

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
    """Forget all of the user's conversations and agent memory (and tasks)."""
    report = ForgetReport()
    memory = user.app.memory
    for row in await memory.list_sessions(user_prefix(user.id)):
        report.memory_items += await memory.clear_session(row.session_id)
    report.conversations, report.messages = _delete_log(user, None)
    if with_tasks:
        report.tasks = _delete_tasks(user)
    return report


def _delete_log(user: User, ids: list[uuid.UUID] | None) -> tuple[int, int]:
    from todochat.db import conversations as conversation_queries

    with user.app.database.session() as db:
        return conversation_queries.delete_conversations(db, user.id, ids)


def _delete_tasks(user: User) -> int:
    from todochat.db import tasks as task_queries

    with user.app.database.session() as db:
        return task_queries.delete_all_tasks(db, user.id)
