"""One chat turn on the agent-memory file: how many write transactions it makes, counted from
the SQL every connection to that file ran (ours and the SDK's), with SQLite's trace hook."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field

import pytest
from app_state import open_chat
from test_forget import SURE

from todochat.errors import ModelError

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.I)
ITEM_READ = re.compile(r"SELECT.*FROM agent_messages WHERE session_id", re.I | re.S)
NO_OP = re.compile(r"\s*CREATE\s+\w+(\s+\w+)?\s+IF\s+NOT\s+EXISTS\b", re.I)


@dataclass
class Connection:
    """What one connection ran: its write transactions, and its statements in order."""

    in_transaction: bool = False
    wrote: bool = False
    writes: int = 0
    statements: list[str] = field(default_factory=list)

    def ran(self, sql: str) -> None:
        self.statements.append(sql)
        word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if word == "BEGIN":
            # IMMEDIATE and EXCLUSIVE take the write lock at once, written or not.
            self.in_transaction, self.wrote = True, "IMMEDIATE" in sql.upper()
        elif word in ("COMMIT", "END"):
            self.writes += self.in_transaction and self.wrote
            self.in_transaction = False
        elif word == "ROLLBACK":
            self.in_transaction = False
        elif WRITE.match(sql) and not NO_OP.match(sql):
            if self.in_transaction:
                self.wrote = True
            else:  # autocommit: the statement is a transaction of its own
                self.writes += 1


class MemoryFileTrace:
    """Every connection this process opens to `path`, traced from its first statement."""

    def __init__(self, path: str):
        self.path = os.path.realpath(path)
        self.connections: list[Connection] = []
        self.active = False

    def connect(self, real):
        def traced(database, *args, **kwargs):
            conn = real(database, *args, **kwargs)
            if self.active and self.path in os.path.realpath(_file_of(database)):
                record = Connection()
                self.connections.append(record)
                conn.set_trace_callback(record.ran)
            return conn

        return traced

    @property
    def writes(self) -> int:
        return sum(c.writes for c in self.connections)


def _file_of(database) -> str:
    text = os.fspath(database)
    return text.removeprefix("file:").split("?", 1)[0]


@SQLITE_ONLY
def test_a_turn_makes_at_most_two_write_transactions_on_the_memory_file(settings, monkeypatch):
    """The SDK's own add_items included: two turns of a conversation resumed in a new
    process, then the first turn of a new conversation."""
    service = open_chat(settings)
    asyncio.run(service.turn("create a task to buy groceries"))  # the file and schema exist
    trace = MemoryFileTrace(str(settings.agent_session_db_path))
    monkeypatch.setattr(sqlite3, "connect", trace.connect(sqlite3.connect))
    service.close()
    service = open_chat(settings)
    service.resume(service_conversation(settings))
    trace.active = True
    per_turn = []
    for text in ("add milk to that task", "what tasks do I have?"):
        before = trace.writes
        asyncio.run(service.turn(text))
        per_turn.append(trace.writes - before)
    service.close()
    detail = [s for c in trace.connections for s in c.statements]
    assert max(per_turn) <= 2, (per_turn, detail)
    ours = [c for c in trace.connections if "PRAGMA synchronous=NORMAL" in c.statements]
    assert len(ours) == 1, detail  # the SDK opens its own, one per worker thread
    reads = [s for s in ours[0].statements if ITEM_READ.search(s)]
    assert len(reads) == 2, reads  # the conversation's items, once a turn

    before = trace.writes
    fresh = open_chat(settings)
    asyncio.run(fresh.turn("create a task to call mum"))
    fresh.close()
    assert trace.writes - before <= 2


def service_conversation(settings) -> str:
    from todochat.db import open_database
    from todochat.db.models import Conversation

    with open_database(settings.database_url).session() as db:
        return db.query(Conversation.id).scalar().hex[:8]


def stored_items(settings, service) -> list[dict]:
    with closing(sqlite3.connect(settings.agent_session_db_path)) as conn:
        rows = conn.execute(
            "SELECT message_data FROM agent_messages WHERE session_id = ? ORDER BY id",
            (service.session_id,),
        )
        return [json.loads(data) for (data,) in rows]


@SQLITE_ONLY
def test_a_failed_run_leaves_nothing_in_memory_and_the_next_turn_is_whole(settings):
    """What the run added is written when the turn ends: a model failure writes none of it
    (a question without a reply, as a rebuild from the log leaves it out)."""
    from agents.testing import ModelStep, ScriptedModel

    service = open_chat(settings)
    asyncio.run(service.turn("create a task to buy groceries"))
    before = stored_items(settings, service)
    model = service._model
    service._model = ScriptedModel([ModelStep.raise_error(ConnectionError("network down"))])
    with pytest.raises(ModelError):
        asyncio.run(service.turn("remind me to pay rent"))
    assert stored_items(settings, service) == before
    service._model = model
    asyncio.run(service.turn("add milk to that task"))
    said = [i.get("content") for i in stored_items(settings, service)]
    assert "remind me to pay rent" not in said and "add milk to that task" in said
    service.close()


@SQLITE_ONLY
def test_a_cleanup_during_a_turn_keeps_a_conversation_idle_past_retention(settings):
    """An idle session is touched before the run (a cleanup then sees it active); its
    memory is whole after the turn."""
    from agents.testing import ModelStep, ScriptedModel
    from openai.types.responses import ResponseOutputMessage

    from todochat.memory import expire as cleanup

    service = open_chat(settings)
    asyncio.run(service.turn("create a task to buy groceries"))
    kept = len(stored_items(settings, service))
    with closing(sqlite3.connect(settings.agent_session_db_path)) as conn, conn:
        conn.execute("UPDATE agent_sessions SET updated_at = datetime('now', '-30 days')")
    expired = []

    def responder(call):
        report = cleanup.run(
            settings.agent_session_db_path, 7, dry_run=False, vacuum=False, lock_wait=5, now="now"
        )
        expired.append(report.sessions)
        return ModelStep(output=[ResponseOutputMessage.model_validate(SURE)])

    service._model = ScriptedModel([ModelStep.respond(responder)])
    asyncio.run(service.turn("and milk"))
    assert expired == [0]
    assert len(stored_items(settings, service)) == kept + 2
    service.close()


@SQLITE_ONLY
def test_a_turn_that_catches_up_on_an_idle_session_still_writes_twice(settings, monkeypatch):
    """The touch, a repair and a catch-up from the log share the one write before the run."""
    from todochat.db import open_database
    from todochat.log import messages

    service = open_chat(settings)
    asyncio.run(service.turn("create a task to buy groceries"))
    conversation = service.conversation_id
    service.close()
    with open_database(settings.database_url).session() as db:  # another machine's turn
        asked = messages.add_message(db, conversation, messages.USER, "and eggs")
        messages.add_message(db, conversation, messages.ASSISTANT, "Noted.", asked.id)
    with closing(sqlite3.connect(settings.agent_session_db_path)) as conn, conn:
        conn.execute("UPDATE agent_sessions SET updated_at = datetime('now', '-2 hours')")
        conn.execute(
            "INSERT INTO agent_messages (session_id, message_data) SELECT session_id,"
            " 'not json' FROM agent_sessions"
        )
    trace = MemoryFileTrace(str(settings.agent_session_db_path))
    monkeypatch.setattr(sqlite3, "connect", trace.connect(sqlite3.connect))
    notices = []
    service = open_chat(settings, notice=notices.append)
    service.resume(conversation.hex[:8])
    trace.active = True
    asyncio.run(service.turn("what tasks do I have?"))
    service.close()
    assert any("caught up" in n for n in notices)
    assert trace.writes <= 2, [s for c in trace.connections for s in c.statements]
    said = [i.get("content") for i in stored_items(settings, service)]
    assert said.count("and eggs") == 1 and "not json" not in said


@SQLITE_ONLY
def test_a_turn_whose_write_fails_is_caught_up_from_the_log_next_turn(settings, monkeypatch):
    """A full disk at the turn's one write: one warning, the turn counts, and the next turn
    puts it back from the log, once."""
    from todochat.memory import store

    notices = []
    service = open_chat(settings, notice=notices.append)
    asyncio.run(service.turn("create a task to buy groceries"))

    def full_disk(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as patch:
        patch.setattr(store.turn, "_add_items", full_disk)
        asyncio.run(service.turn("create a task to walk the dog"))
    assert notices[-1].startswith("Warning: agent memory was not pruned")
    asyncio.run(service.turn("what tasks do I have?"))
    assert any("caught up" in n for n in notices)
    said = [i.get("content") for i in stored_items(settings, service)]
    assert said.count("create a task to walk the dog") == 1
    service.close()


@SQLITE_ONLY
def test_a_file_replaced_during_a_turn_is_rebuilt_whole_from_the_log(settings):
    """The turn's write does not go to the new file (it would hold that turn alone): the
    next turn finds it empty and restores every turn from the log."""
    from agents.testing import ModelStep, ScriptedModel
    from openai.types.responses import ResponseOutputMessage

    from todochat.memory import store
    from todochat.memory.manager import SessionManager

    notices = []
    service = open_chat(settings, notice=notices.append)
    asyncio.run(service.turn("create a task to buy groceries"))
    model = service._model

    def responder(call):  # another process moves it aside and starts a new file
        assert SessionManager(settings.agent_session_db_path).move_aside() is not None
        store.ensure_file(settings.agent_session_db_path)
        return ModelStep(output=[ResponseOutputMessage.model_validate(SURE)])

    service._model = ScriptedModel([ModelStep.respond(responder)])
    asyncio.run(service.turn("and milk"))
    service._model = model
    asyncio.run(service.turn("what tasks do I have?"))
    assert any(n.startswith("Restored agent memory from the log") for n in notices)
    said = [i.get("content") for i in stored_items(settings, service)]
    assert said.count("create a task to buy groceries") == 1 and said.count("and milk") == 1
    service.close()
