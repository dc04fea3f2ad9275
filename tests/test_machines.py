"""Several machines, one record: memory follows the log, turns run in order everywhere.

A "machine" is a data directory (its own memory file and lock folder); machines share the
run's PostgreSQL database, as a laptop and a desktop share a hosted one.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
from agent_memory import memory_texts
from app_state import history_of, open_chat, tasks_of
from conftest import TODOCHAT, subprocess_env
from openai_server import OpenAIServer

from todochat.config import Settings, load_settings
from todochat.db import models, open_database
from todochat.log import messages, turn_locks
from todochat.turn import CANCELLED_MARK, WAITING, ChatService


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
    return open_chat(settings, notice=(notices if notices is not None else []).append)


def test_that_task_on_a_means_the_task_b_just_created(machine_env):
    said_a, said_b = [], []
    a = machine(machine_env, "A", said_a)
    run(a.turn("create a task to buy groceries"))
    b = machine(machine_env, "B", said_b)
    b.resume(a.conversation_id.hex)
    run(b.turn("create a task to call mom"))
    run(a.turn("add milk to that task"))

    assert {t.title: t.notes for t in tasks_of(a)} == {"buy groceries": "", "call mom": "milk"}
    assert said_b == ["Restored agent memory from the log (2 items)."]
    assert said_a == [
        "Agent memory caught up with the log: 1 turn from another terminal or machine."
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
    a = open_chat(load_settings(machine_env("A", **small)), notice=said_a.append)
    run(a.turn("create a task to first"))
    b = open_chat(load_settings(machine_env("B", **small)))
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
    assert [m.content for m in history_of(b)][-2:] == ["create a task to wait", CANCELLED_MARK]
    other.close()  # the other machine's turn ends
    run(asyncio.wait_for(b.turn("what tasks do I have?"), 10))
    assert tasks_of(b, "all") == []  # the cancelled turn never ran
    assert advisory_locks(pg_url) == 0


def advisory_locks(pg_url: str) -> int:
    from sqlalchemy import text

    with open_database(pg_url).engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).scalar()


def network_env(machine_env, name: str, server: OpenAIServer) -> dict[str, str]:
    """Machine `name` as a child process sees it, its model served on loopback."""
    return subprocess_env(
        machine_env(
            name,
            OPENAI_BASE_URL=server.base_url,
            OPENAI_API_KEY="sk-test-machines",
            TODOCHAT_MODEL="fake-model",
            TODOCHAT_OPENAI_API="chat_completions",
        )
    )


def turn_of(request) -> str:
    """Which turn a model request belongs to: the title its last message names."""
    last = request.body["messages"][-1]
    return re.search(r"\b[AB]\d\b", str(last.get("content")))[0]


def test_turns_of_two_machines_on_one_conversation_never_overlap(machine_env, pg_url):
    a = machine(machine_env, "A")
    run(a.turn("hello"))
    conversation = a.conversation_id
    with OpenAIServer(chunk_delay=0.03) as server:
        procs = [
            subprocess.Popen(
                [*TODOCHAT, "chat", "--conversation", conversation.hex],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=network_env(machine_env, name, server),
            )
            for name in "AB"
        ]
        for proc, name in zip(procs, "AB", strict=True):
            proc.stdin.write("".join(f"create a task to {name}{i}\n" for i in range(4)))
            proc.stdin.close()
        errors = [proc.stderr.read() for proc in procs]
        assert [proc.wait(timeout=120) for proc in procs] == [0, 0], errors
        order = [turn_of(request) for request in server.requests]

    # Each turn asks the model twice (the tool call, then the text); another turn's request
    # never comes between them, so the turns ran one after the other.
    assert order[0::2] == order[1::2] and sorted(order[0::2]) == sorted(set(order))
    assert len(order) == 16
    assert any(WAITING in text for text in errors)  # they did contend for the lock
    log = history_of(a)
    assert len(log) == 2 + 16
    for question, reply in zip(log[2::2], log[3::2], strict=True):
        assert reply.reply_to == question.id and turn_of_text(question) in reply.content


def turn_of_text(message) -> str:
    return re.search(r"\b[AB]\d\b", message.content)[0]


def test_a_machine_killed_mid_turn_frees_its_lock(machine_env, pg_url):
    said_b = []
    b = machine(machine_env, "B", said_b)
    run(b.turn("hello"))
    with OpenAIServer(chunk_delay=0.5) as server:
        killed = subprocess.Popen(
            [*TODOCHAT, "chat", "--conversation", b.conversation_id.hex, "-m", STORY],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=network_env(machine_env, "A", server),
        )
        try:
            wait_until(lambda: server.requests, 60)  # A is in the model, holding the lock

            async def turn_on_b():
                task = asyncio.create_task(b.turn("create a task to after the crash"))
                await asyncio.to_thread(wait_until, lambda: WAITING in said_b, 10)
                await asyncio.sleep(0.3)
                assert not task.done()  # B waits for A's turn
                os.kill(killed.pid, signal.SIGKILL)
                return await asyncio.wait_for(task, 15)

            reply = run(turn_on_b())
        finally:
            killed.kill()
            killed.wait()
    assert "after the crash" in reply.reply
    assert [t.title for t in tasks_of(b)] == ["after the crash"]
    assert advisory_locks(pg_url) == 0


STORY = "tell me a story about " + " ".join(f"word{n}" for n in range(40))


def wait_until(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- clocks that differ (issue 21, item 8) ----------------------------------------------------


class HourBehind(datetime):
    """A machine's clock an hour behind the others' (patched into the writer's process)."""

    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) - timedelta(hours=1)


def test_turns_of_a_machine_whose_clock_is_behind_reach_memory_after_a_clear(
    machine_env, pg_url, monkeypatch
):
    said_a, said_c = [], []
    a = machine(machine_env, "A", said_a)
    run(a.turn("create a task to buy groceries"))
    run(a.clear_memory())
    run(a.turn("what tasks do I have?"))
    b = machine(machine_env, "B")
    b.resume(a.conversation_id.hex)
    with monkeypatch.context() as behind:
        behind.setattr(models, "datetime", HourBehind)
        run(b.turn("create a task to call mom"))

    run(a.turn("what is due?"))
    assert memory_texts(a)[2:4] == ["create a task to call mom", "Added **#2 call mom**."]
    assert said_a == [
        "Agent memory caught up with the log: 1 turn from another terminal or machine."
    ]
    # A machine with no memory of it rebuilds from the log after the clear: B's turn included.
    c = machine(machine_env, "C", said_c)
    c.resume(a.conversation_id.hex)
    run(c.turn("what is due?"))
    assert said_c == ["Restored agent memory from the log (6 items)."]
    assert memory_texts(c)[2:4] == ["create a task to call mom", "Added **#2 call mom**."]
    # The log's times are the server's: B's turn is not stamped an hour back.
    with open_database(pg_url).session() as db:
        logged = messages.list_messages(db, a.conversation_id)
    assert [m.created_at for m in logged] == sorted(m.created_at for m in logged)
    assert datetime.now(UTC) - logged[4].created_at < timedelta(minutes=5)
