"""Failures and races a user can cause: one clear line, no traceback, no lost or doubled data."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing

import pytest
from app_state import history_of, open_chat, tasks_of
from conftest import TODOCHAT, subprocess_env
from typer.testing import CliRunner

from todochat.cli import app
from todochat.config import load_settings
from todochat.db import open_database
from todochat.db.migrations import MIGRATIONS
from todochat.errors import InvalidInputError, MemoryStoreError
from todochat.log import users as user_queries
from todochat.memory import store as memory_store
from todochat.memory.manager import SessionManager
from todochat.tasks import queries as task_queries

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)


def run(coro):
    return asyncio.run(coro)


def invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@SQLITE_ONLY
def test_a_lock_during_the_reply_is_reported_not_retried(settings):
    """Retrying a run would repeat its tool calls: a lock there is one error, and one task."""
    service = open_chat(settings)
    run(service.turn("hello"))
    memory = service.agent_session()
    real_add_items = memory.add_items
    calls = []

    async def locked_once(items):
        calls.append(items)
        if len(calls) == 2:  # the SDK saves the tool's output: the tool has already run
            raise sqlite3.OperationalError("database is locked")
        await real_add_items(items)

    memory.add_items = locked_once
    with pytest.raises(MemoryStoreError, match="your message and the reply shown are in the log"):
        run(service.turn("create a task to buy milk"))
    assert [t.title for t in tasks_of(service, "all")] == ["buy milk"]
    assert history_of(service)[-1].content == "create a task to buy milk"


def test_storage_the_user_cannot_store_is_cleaned_not_fatal(settings):
    service = open_chat(settings)
    run(service.turn("create a task to caf\udce9 run"))  # invalid UTF-8 from a terminal
    run(service.turn("create a task to a\x00b"))  # PostgreSQL rejects NUL in text
    assert [t.title for t in tasks_of(service)] == ["caf\ufffd run", "ab"]


def test_an_over_long_title_is_the_tools_answer(settings):
    service = open_chat(settings)
    reply = run(service.turn("create a task to " + "x" * 600)).reply
    assert "at most 500 characters" in reply
    assert tasks_of(service, "all") == []
    database = open_database(settings.database_url)
    with database.session() as session, pytest.raises(InvalidInputError):
        task_queries.add_task(session, service.user_id, "   ")


def test_concurrent_adds_for_one_user_get_distinct_numbers(settings):
    database = open_database(settings.database_url)
    with database.session() as session:
        user_id = user_queries.get_or_create_user(session, "alice").id
    errors = []

    def add(i: int) -> None:
        try:
            with database.session() as session:
                task_queries.add_task(session, user_id, f"task {i}")
        except Exception as exc:  # noqa: BLE001 - any failure is what this test reports
            errors.append(repr(exc))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.session() as session:
        numbers = [t.number for t in task_queries.list_tasks(session, user_id, "all")]
    assert numbers == list(range(1, 13))


def test_many_processes_create_a_fresh_schema_at_once(app_db_url, tmp_path):
    """Every process starting on an empty database at once succeeds (migrations serialize)."""
    url = app_db_url
    if url.startswith("postgresql"):
        from sqlalchemy import text

        with open_database(url).engine.begin() as conn:
            conn.execute(
                text(
                    "DROP TABLE IF EXISTS api_tokens, task_changes, messages, tasks, "
                    "conversations, users, schema_migrations CASCADE"
                )
            )
        open_database(url)._schema_ready = False
    code = (
        "import sys; from todochat.db import open_database; "
        "open_database(sys.argv[1]).ensure_schema()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    failures = [p.stderr.read() for p in procs if p.wait(timeout=60) != 0]
    assert failures == []
    from sqlalchemy import text

    with open_database(url).engine.connect() as conn:
        applied = conn.execute(text("SELECT name FROM schema_migrations")).scalars().all()
    assert sorted(applied) == sorted(name for name, _ in MIGRATIONS)


@SQLITE_ONLY
def test_two_chats_on_one_conversation_take_turns(env, settings):
    """Turns of two processes on one conversation never interleave inside agent memory."""
    service = open_chat(settings)
    run(service.turn("hello"))
    conversation = service.conversation_id.hex
    scripts = ["".join(f"create a task to {who}{i}\n" for i in range(8)) for who in "AB"]
    procs = [
        subprocess.Popen(
            [*TODOCHAT, "chat", "--conversation", conversation],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(env),
        )
        for _ in scripts
    ]
    for proc, script in zip(procs, scripts, strict=True):
        proc.stdin.write(script)
        proc.stdin.close()
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    items = run(service.agent_session().get_items())
    turns = [items[i : i + 4] for i in range(2, len(items), 4)]  # after the "hello" turn
    assert len(turns) == 16
    for user, call, output, reply in turns:
        title = user["content"].removeprefix("create a task to ")
        assert (call["name"], output["call_id"]) == ("add_task", call["call_id"])
        assert title in output["output"] and reply["role"] == "assistant"


@SQLITE_ONLY
def test_a_cleanup_during_a_turn_keeps_the_session_it_is_using(settings):
    service = open_chat(settings)
    run(service.turn("create a task to buy groceries"))
    path = settings.agent_session_db_path
    with closing(memory_store.connect(path)) as conn:
        conn.execute("UPDATE agent_sessions SET updated_at = datetime('now', '-30 days')")
    message = service.save_user_message("add milk to that task")
    # The turn has prepared its memory; a nightly cleanup runs before the model reads it.
    run(service.memory.prepare(message.conversation_id, service.turn_log(message)))
    manager = SessionManager(path, settings.agent_session_max_messages, 7)
    assert run(manager.cleanup_inactive_sessions()) == 0
    assert len(run(service.agent_session().get_items())) == 4


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TODOCHAT_DATA_DIR", "/etc/passwd/x", "cannot create the app database file"),
        ("AGENT_SESSION_DB_PATH", "{tmp}", "is not an agent-memory database"),
    ],
)
@SQLITE_ONLY
def test_unusable_paths_are_one_error_line(env, tmp_path, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value.format(tmp=tmp_path))
    if variable == "TODOCHAT_DATA_DIR":
        monkeypatch.delenv("DATABASE_URL")
    result = invoke("chat", "-m", "create a task to x")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_unreachable_postgresql_is_one_error_line(env, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5999/x")
    result = invoke("tasks")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot open the app database: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("user", ["", "  ", " padded", "u" * 201, "tab\tname"])
def test_a_user_name_that_cannot_separate_data_is_refused(env, user):
    result = invoke("tasks", "--user", user)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --user ")


def test_an_empty_conversation_id_is_a_usage_error(env):
    result = invoke("chat", "--conversation", "", "-m", "hi")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: --conversation needs an id or a unique prefix\n",
    )


def test_settings_refuse_an_empty_model(env):
    from todochat.errors import ConfigError

    with pytest.raises(ConfigError, match="--model"):
        load_settings(overrides={"model": " "})


def test_a_pooled_postgresql_connection_dropped_while_idle_is_replaced(pg_url, monkeypatch):
    """No ping per checkout (a round trip per transaction); an idle connection is pinged."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from todochat.db import engine as engine_module
    from todochat.db import open_database

    database = open_database(pg_url)
    with database.engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(pg_url, poolclass=NullPool)
    with admin.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    try:
        with database.session() as session:  # the dead connection is pinged, dropped, replaced
            assert session.execute(text("SELECT 1")).scalar_one() == 1
            assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        # The pool may hold other connections; if the dead one was not the one checked out
        # it must not wait there for the next test.
        database.engine.dispose()


@SQLITE_ONLY
def test_under_umask_000_every_directory_and_file_we_create_is_private(env, tmp_path, monkeypatch):
    """Under `umask 000` another local user could swap in a database or read what is typed:
    what we create is 0700 (directories) or 0600 (files) whatever the umask."""
    import os
    import stat

    from todochat.config import reset_settings
    from todochat.repl.input_history import open_history

    home = tmp_path / "home"
    monkeypatch.setenv("TODOCHAT_DATA_DIR", str(home / "share" / "todochat"))
    monkeypatch.delenv("DATABASE_URL")  # the app database's default file, in the data dir
    reset_settings()
    settings = load_settings()
    umask = os.umask(0)
    try:
        service = open_chat(settings)
        run(service.turn("create a task to buy milk"))
        open_history(settings.history_file).store_string("typed at the prompt")
        assert invoke("export", "--all", "-o", settings.data_dir + "/backup.json").exit_code == 0
        created = [home, *home.rglob("*")]
        names = {path.name for path in created}
        service.close()
    finally:
        os.umask(umask)
    modes = {str(p): stat.S_IMODE(p.lstat().st_mode) for p in created if p.exists()}
    assert {p: oct(m) for p, m in modes.items() if m not in (0o700, 0o600)} == {}
    assert {p for p, m in modes.items() if (m == 0o700) != os.path.isdir(p)} == set()
    expected = {"todochat.db", "todochat.db-wal", "todochat.db-shm", "agent_sessions.db"}
    assert expected | {"alice", "backup.json", "agent_sessions.db.locks"} <= names
