"""The core of agent-memory administration: one clear for the REPL and the command, fast imports."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from agent_memory import stored
from app_state import open_chat
from conftest import imported_by

from todochat.db import open_database
from todochat.errors import MemoryStoreError
from todochat.log import conversations


def run(coro):
    return asyncio.run(coro)


def reset_at(settings, service):
    with open_database(settings.database_url).session() as session:
        found = conversations.get_conversation(session, service.user_id, service.conversation_id)
        return found.memory_reset_at


@pytest.fixture
def alice(settings):
    service = open_chat(settings, user="alice")
    run(service.turn("create a task to buy groceries"))
    yield service
    service.close()


def test_clear_conversation_memory_marks_the_reset_and_deletes(settings, alice):
    memory = alice.user.memory
    items = run(memory.clear(memory.target(alice.conversation_id)))
    assert items == 4
    assert stored(settings.agent_session_db_path, alice.session_id) == []
    assert reset_at(settings, alice) is not None


def test_the_chat_clear_records_the_reset_before_it_deletes(settings, alice):
    """The REPL's /clear is the same operation: a failed delete leaves the reset recorded."""
    alice.close()
    Path(settings.agent_session_db_path).write_bytes(b"garbage" * 1000)
    with pytest.raises(MemoryStoreError):
        run(alice.clear_memory())
    assert reset_at(settings, alice) is not None


def test_the_chat_clears_an_in_memory_database(env, monkeypatch):
    monkeypatch.setenv("AGENT_SESSION_DB_PATH", ":memory:")
    from todochat.config import load_settings

    settings = load_settings()
    service = open_chat(settings)
    run(service.turn("create a task to buy groceries"))
    run(service.clear_memory())
    assert run(service.agent_session().get_items()) == []
    assert reset_at(settings, service) is not None
    service.close()


@pytest.mark.parametrize(
    "args",
    [
        ["cleanup", "--dry-run"],
        ["sessions", "stats", "--format", "prometheus"],
        ["sessions", "stats"],
        ["sessions", "stats", "--json"],
    ],
)
def test_monitoring_and_cron_never_load_the_app_database(env, args):
    imported = imported_by(env, *args, DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    assert not {m for m in imported if m.split(".")[0] in ("sqlalchemy", "agents", "openai")}


def test_a_users_id_follows_from_the_name_alone(settings):
    """So memory scoping needs no app database, and memory survives a change of backend."""
    from todochat.identity import user_id_for

    service = open_chat(settings, user="carol")
    assert service.user_id == user_id_for("carol") != user_id_for("dave")
