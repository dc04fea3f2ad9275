"""The core (`App`, `app.user(name)`) keeps each user to their own data: every method that
takes a conversation answers "not found" for another user's, as for one that does not exist.

The front ends reach the core only after looking a conversation up by its owner; the HTTP
server hands it ids from requests, so the core itself must hold the line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from agent_memory import stored
from app_state import history_of, open_chat, tasks_of

from todochat.app import App
from todochat.errors import NotFoundError
from todochat.memory.sdk import get_session_id, open_sdk_session


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def alice(settings):
    chat = open_chat(settings, user="alice")
    run(chat.turn("create a task to buy a secret gift for bob"))
    yield chat
    chat.close()


@pytest.fixture
def bob(settings):
    return App(settings).user("bob")


def test_another_users_conversation_is_not_found_by_any_core_method(alice, bob):
    theirs = alice.conversation_id
    for call in (
        lambda: bob.log.page(theirs),
        lambda: bob.log.messages(theirs),
        lambda: bob.log.rename(theirs, "mine now"),
        lambda: bob.memory.target(theirs),
        lambda: run(bob.memory.note(theirs, "planted")),
        lambda: run(bob.undo(theirs)),
        lambda: run(bob.log.forget([theirs])),
    ):
        with pytest.raises(NotFoundError, match="no conversation"):
            call()
    assert [m.content for m in history_of(alice)][0] == "create a task to buy a secret gift for bob"
    assert [t.title for t in tasks_of(alice)] == ["buy a secret gift for bob"]
    assert "planted" not in str(stored(alice.settings.agent_session_db_path, alice.session_id))


def test_a_session_under_ones_id_naming_anothers_conversation_shows_no_title(alice, bob):
    """Only operators see titles across users: a session id can be made to name any
    conversation (the SDK's API takes any id), and its title is not the caller's to read."""
    path, limit = alice.settings.agent_session_db_path, 200
    foreign = open_sdk_session(get_session_id(bob.id, alice.conversation_id), path, limit)
    run(foreign.add_items([{"role": "user", "content": "hello"}]))
    foreign.close()
    [listed] = run(bob.memory.list())
    assert (listed["conversation"], listed["title"]) == (None, "")
    everyone = {row["title"] for row in run(bob.memory.list(all_users=True))}
    assert "create a task to buy a secret gift for bob" in everyone  # operators, as before


def test_undo_stands_and_says_so_when_agent_memory_cannot_be_told(alice):
    run(alice.turn("create a task to call the plumber"))
    alice.close()
    Path(alice.settings.agent_session_db_path).write_bytes(b"not a database " * 100)
    line = run(alice.user.undo(alice.conversation_id))
    assert line.startswith("Undone: added #2 call the plumber\nWarning: agent memory was not told")
    assert [t.title for t in tasks_of(alice)] == ["buy a secret gift for bob"]
