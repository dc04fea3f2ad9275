"""Replies know their question: an interleaved log reads right, rebuilds right, and a database
made by an earlier version is upgraded (m004), and a memory file kept by an earlier version
is adopted as it is, on both app-database backends."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing

from app_state import history_of, make_conversation, open_chat, tasks_of
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from todochat.cli import app
from todochat.db import open_database
from todochat.db.engine import Database
from todochat.memory.manager import SessionManager


def run(coro):
    return asyncio.run(coro)


def test_an_interleaved_log_pairs_each_reply_with_its_question(settings):
    chat = open_chat(settings)
    # Two terminals: both questions are logged before either turn runs.
    first = chat.save_user_message("create a task to one")
    second = chat.save_user_message("create a task to two")
    chat.save_reply("Added **#1 one**.", first.id)
    chat.save_reply("Added **#2 two**.", second.id)
    paired = [
        "create a task to one",
        "Added **#1 one**.",
        "create a task to two",
        "Added **#2 two**.",
    ]
    assert [m.content for m in history_of(chat)] == paired
    shown = CliRunner().invoke(app, ["history", chat.conversation_id.hex]).stdout
    plain = [said.replace("**", "") for said in paired]  # a pipe: no Markdown markers
    assert [shown.index(text) for text in plain] == sorted(shown.index(t) for t in plain)

    run(SessionManager.from_settings(settings).clear_session(chat.session_id))  # memory lost
    run(chat.turn("what tasks do I have?"))
    items = run(chat.agent_session().get_items())
    assert [i.get("content") for i in items[:4]] == paired
    [*_, question, reply] = history_of(chat)
    assert (question.role, reply.reply_to) == ("user", question.id)


def test_a_database_made_by_an_earlier_version_is_upgraded(app_db_url):
    said = ["q1", "a1", "q2", "a2"]
    make_conversation(app_db_url, "5" * 32, said)  # replies logged without `reply_to`
    with open_database(app_db_url).engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_messages_conversation_id"))
        conn.execute(text("ALTER TABLE messages DROP COLUMN reply_to"))
        conn.execute(text("DELETE FROM schema_migrations WHERE name = 'm004_reply_to'"))

    upgraded = Database(app_db_url)
    upgraded.ensure_schema()
    with upgraded.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, role, reply_to FROM messages ORDER BY id")).all()
        indexes = {i["name"] for i in inspect(conn).get_indexes("messages")}
    ids = [row.id for row in rows]
    assert [row.reply_to for row in rows] == [None, ids[0], None, ids[2]]
    assert "ix_messages_conversation_id" in indexes
    upgraded.ensure_schema()  # applied once: nothing left to do
    upgraded.dispose()


def test_memory_kept_by_an_earlier_version_is_adopted_as_it_is(settings):
    said = []
    chat = open_chat(settings, notice=said.append)
    run(chat.turn("create a task to buy groceries"))
    with closing(sqlite3.connect(settings.agent_session_db_path)) as conn:
        conn.execute("DROP TABLE todochat_watermarks")  # as an earlier version left the file

    run(chat.turn("add milk to that task"))
    assert said == []  # nothing caught up, nothing rebuilt: it ran on this machine
    assert len(run(chat.agent_session().get_items())) == 8  # two turns, no duplicate
    assert [t.notes for t in tasks_of(chat)] == ["milk"]
