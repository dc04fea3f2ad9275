"""Faults found in the agent-memory lifecycle, each reproduced: the file is not ours, a model
sends a lone surrogate, the disk fills while a turn prunes, the file vanishes under a running
chat, stored times the SDK never writes, two users' turn locks, an absurd limit."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import subprocess
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from agent_memory import add_session, stored, turns
from app_state import history_of, open_chat, tasks_of
from conftest import TODOCHAT, subprocess_env
from faults import fill, small_disk
from openai_server import OpenAIServer, Reply
from typer.testing import CliRunner

from todochat.cli import app
from todochat.config import load_settings
from todochat.errors import ConfigError
from todochat.memory import locks
from todochat.memory import store as memory_store
from todochat.memory.manager import SessionManager

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
runner = CliRunner()


def run(coro):
    return asyncio.run(coro)


def cli(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def mode_of(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- 1. a file that is not a SQLite database is never ours ----------------------------------


@SQLITE_ONLY
@pytest.mark.parametrize("content", [b"remember the milk\n", b"\x7fELF\x02\x01" + b"\0" * 64])
def test_a_file_that_is_not_sqlite_is_refused_untouched_with_nothing_beside_it(
    env, tmp_path, content
):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    notes = folder / "notes.txt"
    notes.write_bytes(content)
    os.chmod(notes, 0o644)
    done = subprocess.run(
        [*TODOCHAT, "chat", "-m", "create a task to buy milk"],
        env=subprocess_env(env, AGENT_SESSION_DB_PATH=str(notes)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == (
        f"Error: {notes} is not an agent-memory database (not a SQLite file); it was left "
        "untouched: point AGENT_SESSION_DB_PATH at a new or existing memory file\n"
    )
    assert notes.read_bytes() == content and mode_of(notes) == 0o644
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]  # no locks/, no .corrupt-*
    # The message itself was logged before memory was touched: nothing typed is lost.
    history = subprocess.run(
        [*TODOCHAT, "conversations"], env=subprocess_env(env), capture_output=True, text=True
    )
    assert "create a task to buy milk" in history.stdout


@SQLITE_ONLY
def test_admin_commands_never_move_or_repair_a_file_that_is_not_sqlite(env, tmp_path, monkeypatch):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database")
    monkeypatch.setenv("AGENT_SESSION_DB_PATH", str(notes))
    for args in (["sessions", "repair", "--move-aside"], ["cleanup"], ["sessions", "stats"]):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert result.stderr.startswith(f"Error: {notes} is not an agent-memory database"), args
    assert notes.read_text() == "not a database"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data") == ["notes.txt"]


# --- 2. nothing a model sends may break a conversation ----------------------------------------


@SQLITE_ONLY
def test_a_lone_surrogate_from_a_model_is_stored_as_text_and_later_turns_work(env, monkeypatch):
    with OpenAIServer(script=[Reply(text="odd \ud800 reply")]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("TODOCHAT_MODEL", "fake-model")
        settings = load_settings()
        service = open_chat(settings)
        first = run(service.turn("say something odd"))
        assert first.reply == "odd \ufffd reply"
        second = run(service.turn("create a task to buy milk"))  # reads the first reply back
        assert "buy milk" in second.reply
        service.close()
    # The log holds the cleaned text; memory holds only UTF-8-encodable items.
    assert [m.content for m in history_of(service)][1] == "odd \ufffd reply"
    for data in stored(settings.agent_session_db_path, service.session_id):
        json.dumps(json.loads(data), ensure_ascii=False).encode("utf-8")
    # The second request carried the first reply, cleaned.
    assert "odd \ufffd reply" in json.dumps(server.requests[1].body, ensure_ascii=False)


@SQLITE_ONLY
def test_repair_and_each_turn_treat_an_unencodable_item_as_corrupt(settings):
    service = open_chat(settings)
    run(service.turn("create a task to buy groceries"))
    path, session = settings.agent_session_db_path, service.session_id
    bad = json.dumps({"role": "assistant", "content": "x\ud800y"})  # JSON-escaped, as the SDK
    emoji = json.dumps({"role": "assistant", "content": "\U0001f600"})  # a valid pair: kept
    add_session(path, session, [bad, emoji])
    totals = cli("sessions", "stats", "--deep", "--json")
    assert json.loads(totals.stdout)["corrupt_items"] == 1
    reply = run(service.turn("add milk to that task"))
    assert "milk" in reply.reply
    assert bad not in stored(path, session) and emoji in stored(path, session)
    add_session(path, session, [bad])
    assert cli("sessions", "repair").stdout == "Removed 1 corrupt items. Quick check: ok.\n"
    service.close()


# --- 3. a full disk while the turn prunes ------------------------------------------------------


@SQLITE_ONLY
def test_a_full_disk_while_pruning_is_one_warning_and_the_turn_counts(env, tmp_path, monkeypatch):
    disk = tmp_path / "disk"
    with small_disk(disk, "2m"):
        monkeypatch.setenv("AGENT_SESSION_DB_PATH", str(disk / "agent_sessions.db"))
        monkeypatch.setenv("AGENT_SESSION_MAX_MESSAGES", "4")  # every turn prunes
        notices: list[str] = []
        service = open_chat(load_settings(), notice=notices.append)
        run(service.turn("create a task to buy groceries"))
        real_finish = service.memory.finish

        def finish_on_a_full_disk(conversation_id, *args, **kwargs):
            fill(disk)
            return real_finish(conversation_id, *args, **kwargs)

        monkeypatch.setattr(service.memory, "finish", finish_on_a_full_disk)
        reply = run(service.turn("create a task to buy milk"))
        assert "buy milk" in reply.reply
        assert notices[-1].startswith("Warning: agent memory was not pruned (agent memory ")
        assert "the disk is full" in notices[-1] and notices[-1].endswith("the turn is saved.")
        assert [m.content for m in history_of(service)][-1] == reply.reply
        (disk / "filler").unlink()
        monkeypatch.setattr(service.memory, "finish", real_finish)
        later = run(service.turn("what tasks do I have?"))  # the conversation goes on
        assert "buy milk" in later.reply
        service.close()


# --- 4. the file moved aside, deleted or replaced under a running chat -------------------------


@SQLITE_ONLY
@pytest.mark.parametrize("how", ["moved aside", "deleted", "replaced by an empty file"])
def test_memory_lost_under_a_running_chat_is_recovered_on_the_next_turn(settings, how):
    notices: list[str] = []
    service = open_chat(settings, notice=notices.append)
    run(service.turn("create a task to buy groceries"))
    path = Path(settings.agent_session_db_path)
    if how == "moved aside":
        assert SessionManager(str(path)).move_aside() is not None
    else:
        for side in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            side.unlink(missing_ok=True)
        if how == "replaced by an empty file":
            path.touch(mode=0o644)
            os.chmod(path, 0o644)
    reply = run(service.turn("add milk to that task"))
    assert "milk" in reply.reply and [t.notes for t in tasks_of(service)] == ["milk"]
    assert any(n.startswith("Restored agent memory from the log") for n in notices)
    assert mode_of(path) == 0o600
    assert len(stored(str(path), service.session_id)) >= 4
    service.close()


@SQLITE_ONLY
def test_no_memory_file_is_ever_created_with_a_looser_mode(settings):
    old = os.umask(0o022)
    try:
        service = open_chat(settings)
        run(service.turn("hello"))
        service.close()
    finally:
        os.umask(old)
    assert mode_of(settings.agent_session_db_path) == 0o600


# --- 5. stored times the SDK never writes -------------------------------------------------------

ODD_TIMES = [
    ("2020-01-01T00:00:00", True),  # ISO with a T, long ago: expires
    ("garbage", False),
    (1262304000, True),  # an integer epoch (2010): judged by its value, expires
    ("EPOCH_NOW", False),  # an integer epoch of now: a live session, kept
    (None, False),
    ("2099-01-01 00:00:00", False),  # the future: kept, and touched to now
]


def _odd_sessions(path: str, user_id: uuid.UUID) -> dict[str, tuple[object, bool]]:
    from todochat.memory.sdk import get_session_id

    made = {}
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for value, expires in ODD_TIMES:
            session_id = get_session_id(user_id, uuid.uuid4())
            value = int(__import__("time").time()) if value == "EPOCH_NOW" else value
            add_session(path, session_id, turns(1))
            conn.execute(
                "UPDATE agent_sessions SET updated_at = ? WHERE session_id = ?", (value, session_id)
            )
            made[session_id] = (value, expires)
    return made


@SQLITE_ONLY
def test_odd_update_times_show_as_unknown_and_cleanup_never_expires_a_live_session(settings):
    from todochat.identity import user_id_for

    service = open_chat(settings)
    run(service.turn("hello"))  # makes the file and alice's own session
    path = settings.agent_session_db_path
    made = _odd_sessions(path, user_id_for(settings.user))
    for args in (
        ["sessions", "list"],
        ["sessions", "list", "--json"],
        ["sessions", "stats"],
        ["sessions", "stats", "--json"],
        ["sessions", "stats", "--format", "prometheus"],
        ["sessions", "stats", service.short_id],
    ):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.stderr)
    assert "unknown" in cli("sessions", "list").stdout
    assert run(service.memory_stats())["message_count"] > 0  # what /stats shows
    report = run(SessionManager(path, retention_days=7).cleanup())
    left = {row.session_id for row in run(SessionManager(path).list_sessions())}
    for session_id, (value, expires) in made.items():
        assert (session_id not in left) == expires, value
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT updated_at, typeof(updated_at) FROM agent_sessions").fetchall()
    assert all(kind == "text" and value <= "2099" for value, kind in rows)  # all judged next run
    assert report.sessions == 2
    service.close()


# --- 6. turn locks are per conversation --------------------------------------------------------


def test_two_users_conversations_never_wait_for_each_other(tmp_path):
    path = str(tmp_path / "agent_sessions.db")
    memory_store.create_file(path)
    first = uuid.UUID(int=5)  # alice's conversation
    second = uuid.UUID(int=5 + 64)  # bob's: the same bucket of the 64 shared lock files of old

    async def both() -> bool:
        async with locks.conversation_turn(path, first):
            waited = []
            async with asyncio.timeout(2):
                async with locks.conversation_turn(path, second, lambda: waited.append(1)):
                    pass
            return not waited

    assert run(both())


def test_one_conversation_still_takes_turns(tmp_path):
    path = str(tmp_path / "agent_sessions.db")
    memory_store.create_file(path)
    conversation = uuid.uuid4()
    code = (
        "import asyncio, sys, uuid\n"
        "from todochat.memory import locks\n"
        "async def hold():\n"
        f"    async with locks.conversation_turn({path!r}, uuid.UUID({str(conversation)!r})):\n"
        "        print('held', flush=True)\n"
        "        sys.stdin.readline()\n"
        "asyncio.run(hold())\n"
    )
    holder = subprocess.Popen(
        [TODOCHAT[0], "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "held\n"
        waited = []

        async def wait_then_give_up() -> None:
            async with locks.conversation_turn(path, conversation, lambda: waited.append(1)):
                pass

        with pytest.raises(TimeoutError):
            run(asyncio.wait_for(wait_then_give_up(), 0.5))
        assert waited == [1]
    finally:
        holder.communicate("go\n", timeout=10)


# --- 7. every integer setting has a sane range ----------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("AGENT_SESSION_MAX_MESSAGES", "99999999999999999999999", "between 2 and 100000"),
        ("AGENT_SESSION_MAX_MESSAGES", "1", "between 2 and 100000"),
        ("AGENT_SESSION_RETENTION_DAYS", "100000", "between 0 and 36500"),
        ("AGENT_SESSION_CLEANUP_HOUR", "24", "between 0 and 23"),
    ],
)
def test_integer_settings_are_bounded_and_the_error_says_the_range(key, value, message):
    with pytest.raises(ConfigError, match=f"^{key} must be {message}, got "):
        load_settings({key: value})


@SQLITE_ONLY
def test_an_absurd_limit_is_one_line_and_exit_2(env, monkeypatch):
    monkeypatch.setenv("AGENT_SESSION_MAX_MESSAGES", "99999999999999999999999")
    result = cli("chat", "-m", "hello")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: AGENT_SESSION_MAX_MESSAGES must be between 2 and 100000, "
        "got 99999999999999999999999\n"
    )


def test_locks_live_in_a_folder_named_after_the_memory_file(tmp_path):
    assert locks.lock_dir(str(tmp_path / "m.db")) == tmp_path / "m.db.locks"
