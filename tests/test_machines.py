"""Several machines, one record: memory follows the log, turns run in order everywhere.

A "machine" is a data directory (its own memory file and lock folder); machines share the
run's PostgreSQL database, as a laptop and a desktop share a hosted one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from agent_memory import add_session
from conftest import TODOCHAT, subprocess_env
from openai_server import OpenAIServer

from todochat.chat.service import CANCELLED_MARK, WAITING, ChatService
from todochat.config import Settings, load_settings
from todochat.db import open_database
from todochat.db import turn_locks
from todochat.memory.manager import SessionManager


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def machine_env(pg_url, tmp_path, monkeypatch):
    """`machine_env("A")`: the environment of machine A (offline model, shared database)."""
    for key in [k for k in os.environ if k.startswith(("OPENAI_", "AGENT_SESSION"))]:
        monkeypatch.delenv(key)

    def make(name: str, **extra: str) -> dict[str, str]:
        values = {
            "TODOCHAT_DATA_DIR": str(tmp_path / name),
            "DATABASE_URL": pg_url,
            "TODOCHAT_USER": "alice",
            "TODOCHAT_MODEL": "offline",
        }
        return {**values, **extra}

    return make


def machine(machine_env, name: str, notices: list[str] | None = None) -> ChatService:
    settings: Settings = load_settings(machine_env(name))
    return ChatService(settings, notice=(notices if notices is not None else []).append)


def memory_texts(chat: ChatService) -> list[str]:
    texts = []
    for item in run(chat.agent_session().get_items()):
        content = item.get("content")
        if content is not None:
            texts.append(content if isinstance(content, str) else content[0]["text"])
    return texts


def test_that_task_on_a_means_the_task_b_just_created(machine_env):
    said_a, said_b = [], []
    a = machine(machine_env, "A", said_a)
    run(a.turn("create a task to buy groceries"))
    b = machine(machine_env, "B", said_b)
    b.resume(a.conversation_id.hex)
    run(b.turn("create a task to call mom"))
    run(a.turn("add milk to that task"))

    assert {t.title: t.notes for t in a.tasks()} == {"buy groceries": "", "call mom": "milk"}
    assert said_b == ["Restored agent memory from the log (2 items)."]
    assert said_a == [
        "Agent memory caught up with the log: 1 turn(s) from another terminal or machine."
    ]
    assert memory_texts(a)[2:4] == ["create a task to call mom", "Added **#2 call mom**."]
    # Nothing new since A's own turn: the next turn writes no catch-up.
    run(a.turn("what tasks do I have?"))
    assert len(said_a) == 1


def test_a_memory_cleared_elsewhere_is_not_resurrected(machine_env):
    said_a = []
    a = machine(machine_env, "A", said_a)
    run(a.turn("create a task to buy groceries"))
    b = machine(machine_env, "B")
    b.resume(a.conversation_id.hex)
    run(b.clear_memory())

    run(a.turn("what tasks do I have?"))
    assert memory_texts(a)[0] == "what tasks do I have?"
    assert any("cleared elsewhere" in n for n in said_a)


def test_many_turns_elsewhere_are_rebuilt_within_the_limit(machine_env):
    said_a = []
    small = {"AGENT_SESSION_MAX_MESSAGES": "6"}
    a = ChatService(load_settings(machine_env("A", **small)), notice=said_a.append)
    run(a.turn("create a task to first"))
    b = ChatService(load_settings(machine_env("B", **small)))
    b.resume(a.conversation_id.hex)
    for n in range(4):
        run(b.turn(f"create a task to item {n}"))

    run(a.turn("what tasks do I have?"))
    texts = memory_texts(a)
    # The newest whole turns that fit, in place of A's own; the prune after the turn then
    # keeps the newest whole turns within 6.
    assert texts[:2] == ["create a task to item 3", "Added **#5 item 3**."]
    assert "create a task to first" not in texts
    assert any("newest kept within the limit" in n for n in said_a)


def test_ctrl_c_while_waiting_for_another_machine_cancels_cleanly(machine_env, pg_url):
    import psycopg

    said = []
    b = machine(machine_env, "B", said)
    run(b.turn("hello"))
    other = psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True)
    keys = (turn_locks.NAMESPACE, turn_locks.lock_key(b.conversation_id))
    other.execute("SELECT pg_advisory_lock(%s, %s)", keys)

    async def wait_then_cancel():
        task = asyncio.create_task(b.turn("create a task to wait"))
        while WAITING not in said:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(asyncio.wait_for(wait_then_cancel(), 10))
    assert [m.content for m in b.history()][-2:] == ["create a task to wait", CANCELLED_MARK]
    other.close()  # the other machine's turn ends
    run(asyncio.wait_for(b.turn("what tasks do I have?"), 10))
    assert b.tasks("all") == []  # the cancelled turn never ran
    assert advisory_locks(pg_url) == 0


def advisory_locks(pg_url: str) -> int:
    from sqlalchemy import text

    with open_database(pg_url).engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        ).scalar()
