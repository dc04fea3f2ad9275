"""`todochat export` and `import`: the format, files, and the move from SQLite to PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import stat

import pytest
from app_state import add_tasks, make_conversation, open_chat
from sqlalchemy import select
from test_cli_data import run

from todochat.config import load_settings, reset_settings
from todochat.db import open_database
from todochat.db.models import Conversation, Message, Task, User

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of the app database that an export carries, with ids and times."""
    with open_database(url).session() as session:
        return {
            "users": sorted(tuple(r) for r in session.execute(select(User.id, User.name))),
            "conversations": sorted(
                (c.id, c.user_id, c.title, c.created_at, c.updated_at, c.memory_reset_at)
                for c in session.scalars(select(Conversation))
            ),
            "messages": sorted(  # the owner too: search finds messages by it (m006)
                (m.id, m.conversation_id, m.user_id, m.role, m.content, m.created_at)
                for m in session.scalars(select(Message))
            ),
            "tasks": sorted(
                tuple(getattr(t, c.key) for c in Task.__table__.columns)
                for t in session.scalars(select(Task))
            ),
        }


def use_database(monkeypatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    reset_settings()


@pytest.fixture
def history(env):
    """Two users' logs: chat turns through the service, a conversation with odd text, tasks."""
    service = open_chat(load_settings())
    asyncio.run(service.turn("create a task to buy groceries"))
    asyncio.run(service.turn("add milk to that task"))
    service.close()
    url = env["DATABASE_URL"]
    make_conversation(url, "abc1" + "0" * 28, ["naïve \x1b[31m“quotes”\n", "**bold**", "ok"])
    add_tasks(url, ["pay rent", "call mom"], {"pay rent"})
    make_conversation(url, "bbb2" + "0" * 28, ["bob's secret"], user="bob")
    return url


@SQLITE_ONLY
def test_sqlite_history_moves_to_a_fresh_postgresql_database(
    history, fresh_pg_url, tmp_path, monkeypatch
):
    backup = tmp_path / "backup.json"
    result = run("export", "--all-users", "-o", str(backup))
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == f"Exported 3 conversations, 8 messages and 3 tasks to {backup}.\n"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600

    use_database(monkeypatch, fresh_pg_url)
    result = run("import", str(backup))
    assert result.stderr == ""
    assert (result.exit_code, result.stdout) == (
        0,
        "Imported 3 conversations, 8 messages and 3 tasks.\n",
    )
    assert snapshot(fresh_pg_url) == snapshot(history)
    again = run("import", str(backup))
    assert again.stdout == "Imported 0 conversations, 0 messages and 0 tasks.\n"
    assert snapshot(fresh_pg_url) == snapshot(history)

    # The database goes on from there: new ids do not collide with the imported ones.
    service = open_chat(load_settings())
    service.resume("abc1")
    asyncio.run(service.turn("what tasks do I have?"))
    service.close()
    assert len(snapshot(fresh_pg_url)["messages"]) == 10


def test_export_format_is_documented_json(history):
    document = json.loads(run("export", "--all").stdout)
    assert (document["format"], document["version"]) == ("todochat-export", 2)
    assert document["exported_at"].endswith("Z")
    [alice] = document["users"]  # the caller only
    assert alice["name"] == "alice"
    assert [t["number"] for t in alice["tasks"]] == [1, 2, 3]
    assert {"number", "title", "notes", "done", "id", "created_at"} <= set(alice["tasks"][0])
    assert alice["last_task_number"] == 3
    assert [(c["task_number"], c["action"]) for c in alice["task_changes"]] == [
        (1, "added"),
        (1, "updated"),
    ]
    conversation = alice["conversations"][0]
    assert set(conversation) >= {"id", "title", "created_at", "updated_at", "messages"}
    assert set(conversation["messages"][0]) == {"id", "role", "content", "created_at", "reply_to"}
    text = run("export", "abc1").stdout
    assert "\x1b" not in text and "\\u001b[31m" in text  # escaped, never sent to the terminal
    [only] = json.loads(text)["users"]
    assert [c["title"] for c in only["conversations"]] == ["naïve \x1b[31m“quotes”"]
    assert "tasks" not in only  # one conversation: no tasks ride along


def test_markdown_export_is_for_people(history):
    text = run("export", "--all", "--format", "markdown").stdout
    assert text.startswith("# todochat export (")
    assert "## create a task to buy groceries (" in text
    assert "**you** · " in text and "**todochat** · " in text
    assert "- [x] #2 pay rent" in text and "- [ ] #3 call mom" in text
    assert "bob's secret" not in text


@SQLITE_ONLY
def test_a_pipe_or_device_is_written_into_never_replaced(history, tmp_path):
    """As root a rename over `/dev/full` put a plain file where the device was: a named pipe
    stands in for a device here (both are written into, even with --force)."""
    import threading

    fifo = tmp_path / "reader"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    result = run("export", "--all", "-o", str(fifo), "--force")
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the pipe
    assert json.loads(got[0])["format"] == "todochat-export"
    directory = tmp_path / "a-directory"
    directory.mkdir()
    refused = run("export", "--all", "-o", str(directory), "--force")
    assert (refused.exit_code, refused.stderr) == (
        1,
        f"Error: cannot write {directory}: it is not a regular file\n",
    )


@SQLITE_ONLY
def test_an_existing_file_is_never_replaced_unless_forced(history, tmp_path):
    target = tmp_path / "mine.json"
    target.write_text("precious")
    result = run("export", "--all", "-o", str(target))
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: {target} exists; use --force to replace it\n",
    )
    assert target.read_text() == "precious"
    assert run("export", "--all", "-o", str(target), "--force").exit_code == 0
    assert json.loads(target.read_text())["format"] == "todochat-export"
    assert [n for n in os.listdir(tmp_path) if "mine" in n] == ["mine.json"]  # no temp left
    missing = run("export", "--all", "-o", str(tmp_path / "no" / "such.json"))
    assert missing.stderr.startswith("Error: cannot write ") and missing.exit_code == 1


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON (line 1, column 2)"),
        ("[1, 2]", 'is not a todochat export (no "format": "todochat-export")'),
        (
            '{"format": "todochat-export", "version": 3, "users": []}',
            "is export format version 3; this todochat reads up to version 2: upgrade todochat"
            " to import it",
        ),
        ('{"format": "todochat-export", "version": 1, "users": [{"name": "a"}]}', None),
        (
            '{"format": "todochat-export", "version": 1, "users": [{"name": "a", "conversations":'
            ' [{"id": "nope", "title": "", "messages": []}]}]}',
            None,
        ),
    ],
)
def test_a_bad_file_is_one_error_line_and_changes_nothing(env, tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = run("import", str(bad))
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    if message:
        assert result.stderr == f"Error: {bad} {message}\n"
    assert "Traceback" not in result.stderr
    assert snapshot(env["DATABASE_URL"])["conversations"] == []


def test_export_usage_errors(env):
    for args, message in [
        ((), "name the conversations to export, or use --all"),
        (("abc", "--all"), "use either conversation ids or --all / --all-users, not both"),
        (("--all", "--format", "pdf"), "--format is json or markdown, not 'pdf'"),
    ]:
        result = run("export", *args)
        assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")
    result = run("export", "9999")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: no conversation '9999' (see `todochat conversations`)\n",
    )


@SQLITE_ONLY
def test_import_beside_existing_tasks_renumbers_and_stays_idempotent(
    history, tmp_path, monkeypatch
):
    backup = tmp_path / "backup.json"
    assert run("export", "--all", "-o", str(backup)).exit_code == 0
    other = f"sqlite:///{tmp_path / 'other.db'}"
    add_tasks(other, ["already here"])
    use_database(monkeypatch, other)
    result = run("import", str(backup))
    assert result.stdout == (
        "Imported 2 conversations, 7 messages and 3 tasks. "
        "1 tasks got new numbers (theirs were taken).\n"
    )
    assert run("import", str(backup)).stdout.startswith("Imported 0 conversations, 0 messages")
    titles = [(t["number"], t["title"]) for t in json.loads(run("tasks", "--all", "--json").stdout)]
    assert titles == [(1, "already here"), (2, "pay rent"), (3, "call mom"), (4, "buy groceries")]


@SQLITE_ONLY
def test_a_clear_moves_with_the_log(env, fresh_pg_url, tmp_path, monkeypatch):
    """The file carries a clear by its time (its mark, a message id, belongs to the database
    it came from); the import places it again: after the turn before it, as the rebuild of
    memory needs (issue 21)."""
    from todochat.db.models import Conversation
    from todochat.log import messages

    service = open_chat(load_settings())
    asyncio.run(service.turn("create a task to buy groceries"))
    asyncio.run(service.clear_memory())
    asyncio.run(service.turn("create a task to call mom"))
    service.close()
    backup = tmp_path / "backup.json"
    assert run("export", "--all", "-o", str(backup)).exit_code == 0
    assert "memory_reset_id" not in backup.read_text()

    use_database(monkeypatch, fresh_pg_url)
    assert run("import", str(backup)).exit_code == 0
    with open_database(fresh_pg_url).session() as db:
        conversation = db.scalars(select(Conversation)).one()
        after = messages.list_messages(db, conversation.id, after_id=conversation.memory_reset_id)
    assert [m.content for m in after] == ["create a task to call mom", "Added **#2 call mom**."]
