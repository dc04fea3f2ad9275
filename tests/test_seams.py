"""Seams between features built side by side, each found by review and reproduced: forget
against a running turn on PostgreSQL, a model's odd bytes on the way to a pipe, memory
failing under the SDK mid-run, a failed prune before the next catch-up, import keeping a
question's id, /undo's output, and a SQLite file that belongs to another program."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import sqlite3
import subprocess
from contextlib import closing
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace

import pytest
from app_state import history_of, open_chat, tasks_of
from conftest import TODOCHAT, subprocess_env
from openai_server import OpenAIServer, Reply
from rich.console import Console
from typer.testing import CliRunner

from todochat import turn as turns
from todochat.cli import app
from todochat.config import load_settings
from todochat.errors import MemoryStoreError
from todochat.log import forget
from todochat.memory import store

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)


def run(coro):
    return asyncio.run(coro)


def cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_forget_waits_for_a_running_turn_of_that_conversation(settings):
    """On PostgreSQL a turn holds an advisory lock; forget must take the same lock."""
    service = open_chat(settings)
    run(service.turn("create a task to buy milk"))

    async def forget_during_a_turn() -> tuple[bool, int]:
        async with turns.conversation_turn(
            service.database, service.memory.path, service.conversation_id
        ):
            forgetting = asyncio.ensure_future(
                forget.forget_conversations(service.user, [service.conversation_id])
            )
            await asyncio.sleep(0.5)
            waited = not forgetting.done()
        report = await forgetting
        return waited, report.conversations

    assert run(forget_during_a_turn()) == (True, 1)
    service.close()


@SQLITE_ONLY
def test_a_lone_surrogate_streamed_to_a_pipe_is_printed_and_logged(env):
    with OpenAIServer(script=[Reply(text="odd \ud800 reply")]) as server:
        done = subprocess.run(
            [*TODOCHAT, "chat", "-m", "say something odd"],
            env=subprocess_env(
                env,
                OPENAI_BASE_URL=server.base_url,
                OPENAI_API_KEY="sk-test",
                TODOCHAT_MODEL="fake-model",
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "odd \ufffd reply\n"
    history = json.loads(
        subprocess.run(
            [*TODOCHAT, "history", "--json", _latest(env)],
            env=subprocess_env(env),
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    )
    assert [m["content"] for m in history["messages"]] == ["say something odd", "odd \ufffd reply"]


def _latest(env) -> str:
    done = subprocess.run(
        [*TODOCHAT, "conversations", "--json"],
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(done.stdout)[0]["id"]


@SQLITE_ONLY
def test_memory_failing_under_the_sdk_keeps_the_reply_the_user_saw(settings):
    service = open_chat(settings)
    run(service.turn("hello"))
    memory = service.agent_session()
    real_add_items = memory.add_items

    async def fails_on_the_reply(items):
        if any(i.get("role") == "assistant" for i in items):  # after the text streamed
            raise sqlite3.OperationalError("disk I/O error")
        await real_add_items(items)

    memory.add_items = fails_on_the_reply
    streamed: list[str] = []
    with pytest.raises(MemoryStoreError, match="the reply shown are in the log"):
        run(service.turn("create a task to buy milk", streamed.append))
    memory.add_items = real_add_items
    assert streamed and history_of(service)[-1].content == "".join(streamed).rstrip()
    assert [t.title for t in tasks_of(service)] == ["buy milk"]  # run once, not repeated
    service.close()


@SQLITE_ONLY
def test_a_failed_prune_does_not_make_the_next_turn_catch_up_its_own_turn(settings, monkeypatch):
    notices: list[str] = []
    service = open_chat(settings, notice=notices.append)
    run(service.turn("create a task to buy milk"))
    real_prune = store.turn.prune_cut  # what the turn's prune decides with

    def full_disk(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store.turn, "prune_cut", full_disk)
    run(service.turn("create a task to walk the dog"))
    monkeypatch.setattr(store.turn, "prune_cut", real_prune)
    assert notices[-1].startswith("Warning: agent memory was not pruned")
    run(service.turn("what tasks do I have?"))
    assert not any("caught up" in n for n in notices)
    said = [i.get("content") for i in run(service.agent_session().get_items())]
    assert said.count("create a task to walk the dog") == 1
    service.close()


@SQLITE_ONLY
def test_import_never_pairs_a_reply_with_another_conversations_message(env, tmp_path, monkeypatch):
    alice = open_chat(load_settings(), user="alice")
    for said in ("create a task to buy milk", "create a task to walk dog"):
        run(alice.turn(said))
    alice.close()
    export = tmp_path / "alice.json"
    assert cli("export", "--all", "--user", "alice", "-o", str(export)).exit_code == 0

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    monkeypatch.setenv("TODOCHAT_DATA_DIR", str(tmp_path / "other"))
    bob = open_chat(load_settings(), user="bob")
    run(bob.turn("bob private plan"))  # takes ids 1 and 2
    bob.save_user_message("bob private question")  # id 3, unanswered
    bob.close()
    assert cli("import", str(export)).exit_code == 0

    database = bob.database
    with database.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT m.id, m.reply_to, q.conversation_id = m.conversation_id FROM messages m "
            "LEFT JOIN messages q ON q.id = m.reply_to WHERE m.role = 'assistant'"
        ).all()
    assert all(reply_to is None or same for _, reply_to, same in rows)
    shown = cli("history", "--user", "alice", _first_of(database, "alice")).stdout
    assert shown.index("walk dog") < shown.index("Added #2 walk dog")


def _first_of(database, user: str) -> str:
    with database.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT c.id FROM conversations c JOIN users u ON u.id = c.user_id WHERE u.name = ?",
            (user,),
        ).scalar_one()


@SQLITE_ONLY
def test_undo_prints_a_title_as_inert_text(settings):
    from todochat.repl import commands
    from todochat.tasks import tasklist
    from todochat.tasks.change_log import Cause

    service = open_chat(settings)
    run(service.turn("hello"))  # the conversation exists
    actor = tasklist.Actor(Cause(service.user_id, service.conversation_id), UTC)
    with service.database.session() as session:  # as a model's tool call would add it
        tasklist.add(session, actor, "pwned \x1b[2J\x1b]0;title\x07 evil")
    out = io.StringIO()
    repl = SimpleNamespace(service=service, console=Console(file=out, force_terminal=True), run=run)
    commands._undo(repl, "")
    assert "\x1b[2J" not in out.getvalue() and "\x1b]0;" not in out.getvalue()
    assert "␛[2J" in out.getvalue()
    service.close()


@SQLITE_ONLY
def test_the_app_database_named_as_agent_memory_is_left_alone(env, monkeypatch):
    service = open_chat(load_settings())
    run(service.turn("create a task to buy milk"))
    service.close()
    app_db = Path(env["DATABASE_URL"].removeprefix("sqlite:///"))
    before = hashlib.md5(app_db.read_bytes()).hexdigest()
    monkeypatch.setenv("AGENT_SESSION_DB_PATH", str(app_db))
    for args in (["sessions", "repair", "--move-aside"], ["cleanup"], ["chat", "-m", "hi"]):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert result.stderr == (
            f"Error: {app_db} is not an agent-memory database (a SQLite file of something "
            "else); it was left untouched: point AGENT_SESSION_DB_PATH at a new or existing "
            "memory file\n"
        ), args
    assert hashlib.md5(app_db.read_bytes()).hexdigest() == before
    with closing(sqlite3.connect(app_db)) as conn:
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert not {"agent_sessions", "agent_messages"} & tables


@SQLITE_ONLY
def test_a_markdown_export_file_holds_no_control_sequences(settings, tmp_path):
    service = open_chat(settings)
    run(service.turn("create a task to buy milk \x1b]0;pwned\x07 now"))
    service.close()
    target = tmp_path / "log.md"
    result = cli("export", "--all", "--format", "markdown", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    text = target.read_text()
    assert "\x1b" not in text and "\x07" not in text and "␛]0;pwned␇" in text


@SQLITE_ONLY
def test_search_shows_a_users_own_words_as_typed(settings):
    service = open_chat(settings)
    service.save_user_message("pay the **plumber** &#27; tomorrow")
    service.close()
    found = cli("search", "plumber").stdout
    assert "**[plumber]** &#27; tomorrow" in found
