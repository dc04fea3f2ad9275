"""`todochat forget`: out of the log AND agent memory, checked in the raw tables of both stores;
and `todochat rename`."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest
from app_state import add_tasks, conversation_ids, make_conversation, open_chat, task_titles
from sqlalchemy import text
from terminal import Terminal
from test_cli_data import run

from todochat.agent.session import get_session_id
from todochat.app import App
from todochat.config import load_settings
from todochat.db import open_database
from todochat.identity import user_id_for

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)


def chat(*messages: str, user: str | None = None) -> str:
    """One conversation through the real service (log and agent memory); its hex id."""
    service = open_chat(load_settings(), user=user)
    for message in messages:
        asyncio.run(service.turn(message))
    service.close()
    return service.conversation_id.hex


def app_rows(url: str, sql: str) -> list[tuple]:
    with open_database(url).engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def memory_rows(sql: str) -> list[tuple]:
    with closing(sqlite3.connect(load_settings().agent_session_db_path)) as conn:
        return conn.execute(sql).fetchall()


def memory_sessions() -> set[str]:
    """Every session the memory file still knows of: items, session rows, watermarks."""
    return {
        sid
        for table in ("agent_messages", "agent_sessions", "todochat_watermarks")
        for (sid,) in memory_rows(f"SELECT DISTINCT session_id FROM {table}")
    }


def session_of(conversation: str, user: str = "alice") -> str:
    return get_session_id(user_id_for(user), conversation)


def uuid_text(url: str, hex_id: str) -> str:
    """How the app database spells a conversation id (SQLite: 32 hex digits)."""
    import uuid

    return hex_id if url.startswith("sqlite") else str(uuid.UUID(hex_id))


def test_forget_several_conversations_from_both_stores(env):
    url = env["DATABASE_URL"]
    first = chat("create a task to buy groceries", "add milk to that task")
    second = chat("create a task to pay rent")
    kept = chat("what tasks do I have?")
    assert {session_of(c) for c in (first, second, kept)} <= memory_sessions()

    result = run("forget", first[:6], second[:6], "--yes")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "Forgot 2 conversations (6 messages, 12 agent-memory items).\n"

    gone = ", ".join(f"'{uuid_text(url, c)}'" for c in (first, second))
    assert app_rows(url, f"SELECT * FROM conversations WHERE id IN ({gone})") == []
    assert app_rows(url, f"SELECT * FROM messages WHERE conversation_id IN ({gone})") == []
    assert conversation_ids(url) == [kept]
    if url.startswith("sqlite"):  # the search index holds exactly the messages left
        indexed = app_rows(url, "SELECT id FROM messages_fts_docsize ORDER BY id")
        assert indexed == app_rows(url, "SELECT id FROM messages ORDER BY id")
        assert (
            app_rows(url, "SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'create'") == []
        )
    assert session_of(first) not in memory_sessions()
    assert session_of(second) not in memory_sessions()
    assert session_of(kept) in memory_sessions()
    assert task_titles(url) == ["buy groceries", "pay rent"]  # tasks stay without --all


@SQLITE_ONLY
def test_forget_all_with_tasks_leaves_nothing_of_the_caller(env):
    url = env["DATABASE_URL"]
    chat("create a task to buy groceries")
    chat("create a task to pay rent")
    bobs = chat("create a task to call mom", user="bob")
    add_tasks(url, ["water plants"])

    result = run("forget", "--all", "--with-tasks", "--yes")
    assert result.stdout == (
        "Forgot 2 conversations (4 messages, 8 agent-memory items, 3 tasks).\n"
    )
    alice = user_id_for("alice").hex
    assert app_rows(url, f"SELECT * FROM conversations WHERE user_id = '{alice}'") == []
    assert app_rows(url, f"SELECT * FROM tasks WHERE user_id = '{alice}'") == []
    assert memory_sessions() == {session_of(bobs, "bob")}
    assert conversation_ids(url, "bob") == [bobs] and task_titles(url, "bob") == ["call mom"]


@SQLITE_ONLY
def test_forget_all_forgets_the_input_history_too(env):
    from pathlib import Path

    repl = Terminal(env, "chat")
    try:
        repl.prompt()
        repl.line("my bank pin is 1234")
        assert repl.exit_status() == 0
    finally:
        repl.close()
    history = Path(env["TODOCHAT_DATA_DIR"]) / "history" / "alice"
    assert "1234" in history.read_text()
    bobs = Path(env["TODOCHAT_DATA_DIR"]) / "history" / "bob"
    bobs.write_text("+bob's line\n")

    result = run("forget", "--all", "--with-tasks", "--yes")
    assert (result.exit_code, result.stderr) == (0, "")
    assert not history.exists()
    assert bobs.read_text() == "+bob's line\n"


@SQLITE_ONLY
def test_forget_all_leaves_a_history_that_is_not_ours_and_says_so(env, tmp_path, monkeypatch):
    target = tmp_path / "not_mine"
    target.write_text("their lines\n")
    link = tmp_path / "history_link"
    link.symlink_to(target)
    monkeypatch.setenv("TODOCHAT_HISTORY_FILE", str(link))
    chat("create a task to buy groceries")
    result = run("forget", "--all", "--yes")
    assert result.exit_code == 0
    assert result.stdout == "Forgot 1 conversation (2 messages, 4 agent-memory items).\n"
    assert result.stderr == (
        f"Warning: the input history {link} is a symlink: it was left untouched\n"
    )
    assert link.is_symlink() and target.read_text() == "their lines\n"


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ((), 2, "name the conversations to forget, or use --all"),
        (("--all",), 2, "forget --all erases your whole log: add --yes to confirm"),
        (("abc1", "--with-tasks", "--yes"), 2, "--with-tasks goes with --all"),
        (("abc1", "--all", "--yes"), 2, "use either conversation ids or --all, not both"),
        (("abc1",), 2, "not a terminal: pass --yes to forget without asking"),
        (("abc1", "9999", "--yes"), 1, "no conversation '9999' (see `todochat conversations`)"),
    ],
)
def test_forget_refuses_and_changes_nothing(env, args, code, message):
    make_conversation(env["DATABASE_URL"], "abc1" + "0" * 28, ["keep me"])
    result = run("forget", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", f"Error: {message}\n")
    assert conversation_ids(env["DATABASE_URL"]) == ["abc1" + "0" * 28]


def test_rename(env):
    make_conversation(env["DATABASE_URL"], "abc1" + "0" * 28, ["first words"])
    result = run("rename", "abc1", "  Party\n shopping ")
    assert (result.exit_code, result.stdout) == (0, "Renamed abc10000: Party shopping\n")
    assert run("conversations").stdout.endswith("\tParty shopping\n")
    empty = run("rename", "abc1", " ")
    assert (empty.exit_code, empty.stderr) == (1, "Error: a conversation title cannot be empty\n")


@SQLITE_ONLY
def test_forget_asks_on_a_terminal_and_an_open_repl_cannot_write_it_back(env):
    """A REPL open on a conversation that `forget` removes: its next message starts a new
    conversation with a notice, and nothing of the old one comes back in either store."""
    url = env["DATABASE_URL"]
    repl = Terminal(env, "chat")
    try:
        repl.prompt()
        repl.line("create a task to buy groceries")
        [old] = conversation_ids(url)

        asker = Terminal(env, "forget", old[:8])
        asker.expect(re.escape("Forget this conversation and their agent memory for good? [y/N]"))
        asker.send("n\r")
        asker.expect("Kept.")
        assert conversation_ids(url) == [old]
        asker = Terminal(env, "forget", old[:8])
        asker.expect(re.escape("[y/N]"))
        asker.send("y\r")
        asker.expect(re.escape("Forgot 1 conversation (2 messages, 4 agent-memory items)."))

        repl.send("x\x7f")  # a redraw: the toolbar asks for the title of what is gone
        shown = repl.line("add milk to that task")
        assert "Traceback" not in repl.screen_text() and "Exception" not in repl.screen_text()
        assert f"Conversation {old[:8]} was forgotten; this message starts a new conversation." in (
            shown.replace("\n", " ").replace("  ", " ")
        )
        [new] = conversation_ids(url)
        assert new != old
        assert session_of(old) not in memory_sessions()
        assert session_of(new) in memory_sessions()
    finally:
        repl.close()


SURE = {
    "type": "message",
    "role": "assistant",
    "id": "m1",
    "status": "completed",
    "content": [{"type": "output_text", "text": "Sure.", "annotations": []}],
}


@SQLITE_ONLY
def test_forget_all_started_during_a_turn_waits_for_it_and_leaves_nothing(env):
    """`forget --all` takes each conversation's turn lock: started while a turn runs, it
    forgets that turn too once it ends, in both stores."""
    from agents.testing import ModelStep, ScriptedModel
    from openai.types.responses import ResponseOutputMessage

    from todochat.log import forget

    service = open_chat(load_settings())
    asyncio.run(service.turn("create a task to buy groceries"))
    old = service.conversation_id.hex
    other = ThreadPoolExecutor()  # as another process would, outside this loop
    forgetting = []

    def responder(call):
        work = forget.forget_everything(App(load_settings()).user(), with_tasks=False)
        forgetting.append(other.submit(asyncio.run, work))
        time.sleep(0.5)  # forget reaches the lock this turn holds, and waits
        assert not forgetting[0].done()
        return ModelStep(output=[ResponseOutputMessage.model_validate(SURE)])

    service._model = ScriptedModel([ModelStep.respond(responder)])
    assert asyncio.run(service.turn("and milk")).reply == "Sure."
    report = forgetting[0].result(timeout=30)
    other.shutdown()
    assert (report.conversations, report.messages) == (1, 4)
    assert conversation_ids(env["DATABASE_URL"]) == []
    assert session_of(old) not in memory_sessions()
    service.close()


PG_ONLY = pytest.mark.parametrize("app_db_url", ["postgresql"], indirect=True)
WAITING = "Waiting for this conversation's turn"


@PG_ONLY
def test_a_turn_run_while_forget_all_deletes_cannot_leave_memory_behind(env, tmp_path):
    """Two real processes: `forget --all` is held inside its delete of the log (a row lock
    this test takes) while `chat -c -m` runs a turn. Without the turn lock, that turn
    rebuilt memory from the log forget had not yet deleted, and the text stayed there."""
    import subprocess

    import psycopg
    from conftest import TODOCHAT, subprocess_env

    url = env["DATABASE_URL"]
    conversation = chat("create a task to buy groceries")
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    holder, watcher = psycopg.connect(plain), psycopg.connect(plain, autocommit=True)
    holder.execute("SELECT id FROM messages ORDER BY id LIMIT 1 FOR SHARE")  # a transaction

    def start(*args, log):
        return subprocess.Popen(
            TODOCHAT + list(args), env=subprocess_env(env), stdout=log, stderr=log, text=True
        )

    with (
        open(tmp_path / "forget.log", "w+") as forget_log,
        open(tmp_path / "turn.log", "w+") as turn_log,
    ):
        forgetting = start("forget", "--all", "--yes", log=forget_log)
        _wait(lambda: _blocked_deletes(watcher) > 0, "forget to reach its delete")
        turning = start("chat", "-c", "-m", "add milk to that task", log=turn_log)
        _wait(lambda: turning.poll() is not None or WAITING in _read(turn_log), "the turn")
        holder.commit()
        assert forgetting.wait(30) == 0, _read(forget_log)
        turned = (turning.wait(30), _read(turn_log))
    holder.close()
    watcher.close()
    alice = user_id_for("alice")
    assert app_rows(url, f"SELECT id FROM conversations WHERE user_id = '{alice}'") == []
    assert not any(s.startswith(f"user_{alice}") for s in memory_sessions())
    # The turn waited for forget, found its conversation gone, and never ran the model.
    assert turned[0] == 1
    assert turned[1].endswith(f"Error: no conversation {conversation[:8]}\n")


def _blocked_deletes(conn) -> int:
    [(n,)] = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND query LIKE 'DELETE FROM messages%'"
    ).fetchall()
    return n


def _read(log) -> str:
    log.flush()
    with open(log.name) as again:
        return again.read()


def _wait(ready, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
