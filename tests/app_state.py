"""Read what a todochat process left in the app database (real queries, no mocks)."""

from __future__ import annotations

from todochat.db import open_database
from todochat.log import conversations, messages, users
from todochat.tasks import queries as tasks


def task_titles(database_url: str, user: str = "alice", status: str = "all") -> list[str]:
    """The user's task titles in number order."""
    database = open_database(database_url)
    with database.session() as db:
        found = users.find_user(db, user)
        return [t.title for t in tasks.list_tasks(db, found.id, status)] if found else []


def conversation_log(database_url: str, user: str = "alice") -> list[list[tuple[str, str]]]:
    """Every conversation of the user, oldest first, as (role, content) pairs."""
    database = open_database(database_url)
    with database.session() as db:
        found = users.find_user(db, user)
        if found is None:
            return []
        summaries = conversations.list_conversations(db, found.id)
        ordered = sorted(summaries, key=lambda c: c.created_at)
        return [[(m.role, m.content) for m in messages.list_messages(db, c.id)] for c in ordered]


def conversation_ids(database_url: str, user: str = "alice") -> list[str]:
    """Hex ids of the user's conversations, oldest first."""
    database = open_database(database_url)
    with database.session() as db:
        found = users.find_user(db, user)
        summaries = conversations.list_conversations(db, found.id) if found else []
        return [c.id.hex for c in sorted(summaries, key=lambda c: c.created_at)]


def make_conversation(
    database_url: str, conversation_id: str, said: list[str], user: str = "alice"
) -> None:
    """A conversation with a chosen id (to make prefixes collide) and alternating messages."""
    import uuid

    from todochat.db.models import Conversation

    database = open_database(database_url)
    with database.session() as db:
        owner = users.get_or_create_user(db, user)
        conversation = Conversation(id=uuid.UUID(conversation_id), user_id=owner.id)
        db.add(conversation)
        db.flush()
        for i, text in enumerate(said):
            conversations.touch_conversation(db, conversation, text if i == 0 else None)
            role = messages.USER if i % 2 == 0 else messages.ASSISTANT
            messages.add_message(db, conversation.id, role, text)


def add_tasks(database_url: str, titles: list[str], done: set[str] = frozenset(), user="alice"):
    """Tasks straight into the app database, some of them completed."""
    database = open_database(database_url)
    with database.session() as db:
        owner = users.get_or_create_user(db, user)
        for title in titles:
            task = tasks.add_task(db, owner.id, title)
            if title in done:
                tasks.set_done(db, owner.id, task.number, True)


def open_chat(settings, user: str | None = None, **options):
    """A chat through the core, as the front ends open one."""
    from todochat.app import App

    return App(settings).user(user).chat(**options)


def tasks_of(chat, status: str = "open") -> list:
    """The chat's user's tasks, all of them, as `todochat tasks -n 0` lists them."""
    return chat.user.tasks.page(status, size=None).tasks


def history_of(chat) -> list:
    """The chat's conversation from the log, each reply after its question."""
    if chat.conversation_id is None:
        return []
    return chat.user.log.page(chat.conversation_id).messages
