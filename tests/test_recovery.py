"""Agent memory is a cache of the durable log: corrupt rows, a corrupt file, a rebuild, a clear."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from agent_memory import DAMAGED, add_session, memory_texts, set_updated, stored
from app_state import open_chat, tasks_of

from todochat.memory import store as memory_store
from todochat.memory.manager import SessionManager
from todochat.turn import ChatService


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def notices() -> list[str]:
    return []


@pytest.fixture
def service(settings, notices) -> ChatService:
    chat = open_chat(settings, notice=notices.append)
    yield chat
    chat.close()


def resumed(settings, conversation_id, notices) -> ChatService:
    """A new process's view of the conversation: a fresh service, resumed by id."""
    chat = open_chat(settings, notice=notices.append)
    chat.resume(conversation_id.hex)
    return chat


@pytest.mark.parametrize("junk", ["42", '"x"', "[1]", '{"role": "user", "content": "cut'])
def test_a_corrupt_item_neither_breaks_a_turn_nor_hides_history(service, settings, junk):
    run(service.turn("create a task to buy groceries"))
    add_session(settings.agent_session_db_path, service.session_id, [junk])
    reply = run(service.turn("add milk to that task"))
    assert "milk" in reply.reply
    assert [t.notes for t in tasks_of(service)] == ["milk"]
    assert junk not in stored(settings.agent_session_db_path, service.session_id)


def test_an_unreadable_file_is_moved_aside_and_memory_rebuilt_from_the_log(
    service, settings, notices
):
    run(service.turn("create a task to buy groceries"))
    conversation = service.conversation_id
    service.close()
    path = Path(settings.agent_session_db_path)
    path.write_bytes(DAMAGED)
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)

    chat = resumed(settings, conversation, notices)
    reply = run(chat.turn("what tasks do I have?"))
    texts = memory_texts(chat)
    chat.close()
    assert "buy groceries" in reply.reply
    assert texts[:3] == [
        "create a task to buy groceries",
        "Added **#1 buy groceries**.",
        "what tasks do I have?",
    ]
    moved = [p.name for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1 and moved[0].startswith("agent_sessions.db.corrupt-")
    assert any(moved[0] in n for n in notices)
    assert any("Restored agent memory from the log" in n for n in notices)


def test_a_malformed_file_is_moved_aside(service, settings, notices):
    run(service.turn("create a task to buy groceries"))
    conversation = service.conversation_id
    service.close()
    path = Path(settings.agent_session_db_path)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    data[page:] = b"\xff" * (len(data) - page)  # every page but the schema is garbage
    path.write_bytes(bytes(data))
    assert not readable(path)

    chat = resumed(settings, conversation, notices)
    run(chat.turn("what tasks do I have?"))
    chat.close()
    assert any("unreadable" in n for n in notices)
    assert readable(path)


def test_memory_expired_by_cleanup_is_rebuilt_from_the_log(service, settings, notices):
    run(service.turn("create a task to buy groceries"))
    run(service.turn("what tasks do I have?"))
    conversation, path = service.conversation_id, settings.agent_session_db_path
    service.close()
    set_updated(path, service.session_id, "-30 days")
    assert run(SessionManager.from_settings(settings).cleanup()).sessions == 1

    chat = resumed(settings, conversation, notices)
    run(chat.turn("add milk to task 1"))
    texts = memory_texts(chat)
    chat.close()
    assert texts[:2] == ["create a task to buy groceries", "Added **#1 buy groceries**."]
    assert "what tasks do I have?" in texts
    assert any("Restored agent memory from the log (4 items)" in n for n in notices)


def test_a_rebuild_keeps_whole_turns_within_the_limit(env, monkeypatch, notices):
    from todochat.config import load_settings

    monkeypatch.setenv("AGENT_SESSION_MAX_MESSAGES", "6")
    settings = load_settings()
    chat = open_chat(settings, notice=notices.append)
    for n in range(4):
        run(chat.turn(f"create a task to item {n}"))
    conversation = chat.conversation_id
    run(SessionManager.from_settings(settings).clear_session(chat.session_id))  # lost
    chat.close()

    again = resumed(settings, conversation, notices)
    run(again.turn("what tasks do I have?"))
    texts = memory_texts(again)
    again.close()
    # Two whole turns (4 items) fit the limit less this turn's message; the prune after
    # the turn then keeps the newest whole turns within 6.
    assert any("Restored agent memory from the log (4 items)" in n for n in notices)
    assert texts[:2] == ["create a task to item 3", "Added **#4 item 3**."]


def test_no_rebuild_after_an_explicit_clear(service, settings, notices):
    run(service.turn("create a task to buy groceries"))
    conversation = service.conversation_id
    run(service.clear_memory())
    service.close()

    chat = resumed(settings, conversation, notices)
    run(chat.turn("what tasks do I have?"))
    texts = memory_texts(chat)
    chat.close()
    assert texts[0] == "what tasks do I have?"
    assert not any("Restored" in n for n in notices)


def test_moving_aside_twice_in_one_second_keeps_both(tmp_path):
    path = tmp_path / "agent_sessions.db"
    path.write_bytes(memory_store.SQLITE_HEADER + b"one")
    first = memory_store.move_aside(str(path))
    path.write_bytes(memory_store.SQLITE_HEADER + b"two")
    second = memory_store.move_aside(str(path))
    assert first != second
    assert first.read_bytes().endswith(b"one") and second.read_bytes().endswith(b"two")
    assert memory_store.move_aside(str(path)) is None  # someone else moved it first


def readable(path: Path) -> bool:
    """Whether the memory file reads as a database (what a turn checks before using it)."""
    try:
        with closing(memory_store.connect(str(path), readonly=True)) as conn:
            memory_store.probe(conn)
    except sqlite3.DatabaseError:
        return False
    return True
