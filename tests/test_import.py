"""`todochat import` on both backends (issue 21, items 1-5): the counter, ids that never
touch the id space of others, order and idempotence beside other messages, the change log,
and malformed files refused whole with one line."""

from __future__ import annotations

import asyncio
import json

import pytest
from app_state import open_chat
from sqlalchemy import select
from test_cli_data import run
from test_transfer import history, snapshot, use_database  # noqa: F401 (a fixture)

from todochat.config import load_settings
from todochat.db import open_database
from todochat.db.models import Message, User
from todochat.log import users as user_queries
from todochat.tasks import queries as task_queries

STAMP = "2026-11-22T11:49:44.123456Z"


@pytest.fixture
def target(app_db_url, tmp_path, request) -> str:
    """A second, empty app database on the same backend as the first."""
    if app_db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'target.db'}"
    return request.getfixturevalue("fresh_pg_url")


def move(tmp_path, monkeypatch, url: str, *export_args: str) -> str:
    """Export everyone's log from the current database, import it into `url`."""
    backup = tmp_path / "backup.json"
    assert run("export", "--all-users", "-o", str(backup), "--force", *export_args).exit_code == 0
    use_database(monkeypatch, url)
    result = run("import", str(backup))
    assert (result.exit_code, result.stderr) == (0, ""), result.stderr
    return str(backup)


def import_document(tmp_path, document: dict | str):
    path = tmp_path / "file.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path, run("import", str(path))


def test_tasks_are_added_after_the_move_with_numbers_never_used(
    history,  # noqa: F811
    target,
    tmp_path,
    monkeypatch,
):
    with open_database(history).session() as db:
        alice = user_queries.find_user(db, "alice")
        task_queries.delete_task(db, alice.id, 3)  # the counter stays at 3
    move(tmp_path, monkeypatch, target)
    with open_database(target).session() as db:
        alice = user_queries.find_user(db, "alice")
        assert task_queries.add_task(db, alice.id, "water the plants").number == 4


def test_a_version_1_file_still_imports_and_its_numbers_go_on(env, tmp_path):
    document = {
        "format": "todochat-export",
        "version": 1,
        "users": [{"name": "alice", "conversations": [], "tasks": [_task(1), _task(5)]}],
    }
    _, result = import_document(tmp_path, document)
    assert result.stdout == "Imported 0 conversations, 0 messages and 2 tasks.\n"
    with open_database(env["DATABASE_URL"]).session() as db:
        alice = user_queries.find_user(db, "alice")
        assert task_queries.add_task(db, alice.id, "next").number == 6


def _task(number: int, **fields) -> dict:
    return {"id": f"00000000-0000-4000-8000-{number:012d}", "number": number, "title": "t"} | (
        fields
    )


def _conversation(messages: list[dict], hexid: str = "a" * 32, **fields) -> dict:
    return {"id": hexid, "title": "imported", "messages": messages} | fields


def _message(file_id: int, role: str, content: str, reply_to=None, at: str = STAMP) -> dict:
    return {"id": file_id, "role": role, "content": content, "created_at": at, "reply_to": reply_to}


def _document(*users: dict) -> dict:
    return {"format": "todochat-export", "version": 1, "users": list(users)}


def test_message_ids_of_a_file_never_reach_the_log(env, tmp_path):
    from app_state import make_conversation

    url = env["DATABASE_URL"]
    make_conversation(url, "b" * 32, ["bob's first"], user="bob")
    huge = 2**63 - 1
    messages = [_message(huge, "user", "hello"), _message(huge - 1, "assistant", "hi", huge)]
    document = _document({"name": "alice", "conversations": [_conversation(messages)]})
    _, result = import_document(tmp_path, document)
    assert (result.exit_code, result.stderr) == (0, "")
    make_conversation(url, "c" * 32, ["bob again", "noted"], user="bob")  # anyone goes on
    with open_database(url).session() as db:
        rows = db.execute(select(Message.id, Message.content, Message.reply_to)).all()
    assert sorted(rows) == [(1, "bob's first", None), (2, "hello", None), (3, "hi", 2)] + [
        (4, "bob again", None),
        (5, "noted", None),
    ]


def test_import_beside_other_messages_keeps_order_and_adds_nothing_twice(
    history,  # noqa: F811
    target,
    tmp_path,
    monkeypatch,
):
    from app_state import make_conversation

    make_conversation(target, "f" * 32, ["carol one", "two", "three", "four"], user="carol")
    backup = move(tmp_path, monkeypatch, target)
    assert _logged_in_id_order(target) == _logged_in_id_order(history)
    once = snapshot(target)
    again = run("import", backup)
    assert again.stdout == "Imported 0 conversations, 0 messages and 0 tasks.\n"
    assert snapshot(target) == once
    # And back: what the target gave the messages (other ids) does not make them new.
    move(tmp_path, monkeypatch, history)
    assert run("import", backup).stdout == "Imported 0 conversations, 0 messages and 0 tasks.\n"


def _logged_in_id_order(url: str) -> dict:
    """Each conversation of alice and bob as (role, content) in id order, and whether its
    time order says the same."""
    with open_database(url).session() as db:
        rows = db.execute(
            select(Message.conversation_id, Message.role, Message.content, Message.created_at)
            .order_by(Message.id)
            .where(Message.content.not_in(["carol one", "two", "three", "four"]))
        ).all()
    by_conversation: dict = {}
    for conversation, role, content, at in rows:
        by_conversation.setdefault(conversation, []).append((role, content, at))
    for turns in by_conversation.values():
        assert [t[2] for t in turns] == sorted(t[2] for t in turns)
    return {k: [t[:2] for t in v] for k, v in by_conversation.items()}


def test_the_change_log_moves_history_keeps_its_lines_and_undo_works(
    history,  # noqa: F811
    target,
    tmp_path,
    monkeypatch,
):
    conversation = _first_conversation(history)
    assert _turn(conversation, "undo that").startswith("Undone: updated #1 buy groceries")
    before = run("history", conversation).stdout
    assert "  -> added #1 buy groceries" in before and "  -> updated #1" in before
    assert "  -> undid: updated #1 buy groceries" in before  # the undo names what it undid
    move(tmp_path, monkeypatch, target)
    assert run("history", conversation).stdout == before
    # What was undone stays undone: the next undo takes the change before it.
    assert _turn(conversation, "undo that").startswith("Undone: added #1 buy groceries")
    assert [t["number"] for t in json.loads(run("tasks", "--all", "--json").stdout)] == [2, 3]


def _turn(conversation: str, text: str) -> str:
    service = open_chat(load_settings())
    service.resume(conversation)
    try:
        return asyncio.run(service.turn(text)).reply
    finally:
        service.close()


def _first_conversation(url: str) -> str:
    from todochat.db.models import Conversation

    with open_database(url).session() as db:
        alice = user_queries.find_user(db, "alice")
        query = select(Conversation.id).where(Conversation.user_id == alice.id)
        return db.scalars(query.order_by(Conversation.created_at)).first().hex[:8]


LONG = "x" * 100_000
SNAPSHOT = {"done": False, "created_at": STAMP, "updated_at": STAMP}


def _change(number: int, **fields) -> dict:
    task_id = _task(number)["id"]
    change = {"id": 1, "task_id": task_id, "task_number": number, "action": "deleted"}
    return change | {"created_at": STAMP, "before": _task(number) | SNAPSHOT} | fields


BAD_FILES = {
    "nested 100,000 deep": ("[" * 100_000 + "]" * 100_000, "is not an export: it is nested"),
    "a 5,000-digit number": ("DIGITS", "is not an export: it holds a number of 5,000 digits"),
    "a time as a number": ({"messages": [_message(1, "user", "hi", at=1_700_000_000)]}, "time"),
    "a task's time as a number": ({"tasks": [_task(1, created_at=1_700_000_000)]}, "time"),
    "a time UTC cannot hold": (
        {"messages": [_message(1, "user", "hi", at="0001-01-01T00:00+05:00")]},
        "time",
    ),  # noqa: E501
    "a task number past 64 bits": ({"tasks": [_task(1) | {"number": 2**63}]}, "'number' is not"),
    "a counter past 64 bits": ({"last_task_number": 2**64 - 1}, "a number of 20 digits"),
    "a counter past 32 bits": ({"last_task_number": 2**31}, "'last_task_number' is not"),
    "an empty user name": ({"name": ""}, "the user name must not be empty"),
    "a padded user name": ({"name": " bob"}, "the user name must be printable"),
    "a user name with an escape": ({"name": "bob\x1b[31m"}, "the user name must be printable"),
    "a title over its limit": ({"tasks": [_task(1, title="t" * 501)]}, "at most 500 characters"),
    "a 100,000-character title": ({"tasks": [_task(1, title=LONG)]}, "(this is 100000)"),
    "a blank title": ({"tasks": [_task(1, title="  \n ")]}, "a task needs a title"),
    "notes over their limit": ({"tasks": [_task(1, notes="n" * 2001)]}, "task notes are at most"),
    "an unknown priority": ({"tasks": [_task(1, priority="urgent")]}, "not 'urgent'"),
    "a due day past the years we keep": (
        {"tasks": [_task(1, due_on="9999-12-31")]},
        "a due date must fall between",
    ),
    "a due moment past the years we keep": (
        {"tasks": [_task(1, due_at="9999-12-31T23:00:00Z")]},
        "a due date must fall between",
    ),
    "a long conversation title": (
        {"conversations": [_conversation([], title=LONG)]},
        "at most 200",
    ),  # noqa: E501
    "an unknown role": ({"messages": [_message(1, "system", "obey")]}, "not 'system'"),
    "a change's snapshot over limits": (
        {"task_changes": [_change(1, before=_task(1, title=LONG) | SNAPSHOT)]},
        "before: a task title is at most 500",
    ),
    "an unknown action": ({"task_changes": [_change(1, action="hack")]}, "not 'hack'"),
    "a user named twice": ({"name": "alice"}, "a user name appears twice: 'alice'"),
    "a change to another user's task": (
        {"task_changes": [_change(9)]},  # alice's task #9
        "a task id appears twice",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_malformed_file_is_one_line_and_leaves_nothing(env, tmp_path, case):
    bad, expected = BAD_FILES[case]
    path, result = import_document(tmp_path, _bad_document(bad))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert expected in result.stderr and len(result.stderr) < 300, result.stderr
    assert "Traceback" not in result.stderr
    assert all(rows == [] for rows in snapshot(env["DATABASE_URL"]).values())


def _bad_document(bad: dict | str) -> str:
    """A file whose first user (alice, with a conversation and a task) is fine and whose
    second carries the fault; or the fault as the whole text."""
    if bad == "DIGITS":
        return json.dumps(_document(_good_user())).replace('"id": 1,', '"id": ' + "7" * 5000 + ",")
    if isinstance(bad, str):
        return bad
    bad = dict(bad)  # the table is shared by both backends' runs
    messages = bad.pop("messages", None)
    second = {"name": "bob", "conversations": [], **bad}
    if messages is not None:
        second["conversations"] = [_conversation(messages, "b" * 32)]
    return json.dumps(_document(_good_user(), second))


def _good_user() -> dict:
    messages = [_message(1, "user", "hello"), _message(2, "assistant", "hi", 1)]
    return {"name": "alice", "conversations": [_conversation(messages)], "tasks": [_task(9)]}


def test_the_error_line_says_where_the_fault_is(env, tmp_path):
    path, result = import_document(tmp_path, _bad_document({"tasks": [_task(1, title=LONG)]}))
    assert result.stderr == (
        f"Error: cannot import {path}: user 'bob': task 1: a task title is at most 500 "
        "characters (this is 100000)\n"
    )
    with open_database(env["DATABASE_URL"]).session() as db:
        assert db.scalars(select(User)).all() == []


@pytest.fixture
def refusing_tasks(env):
    """The app database refuses new tasks (a trigger, as a full disk or a lost server
    would refuse a write); the trigger goes after the test (the PostgreSQL database is the
    run's)."""
    url = env["DATABASE_URL"]
    open_database(url).ensure_schema()
    engine = open_database(url).engine
    with engine.begin() as conn:
        for statement in REFUSE_TASKS[conn.dialect.name]:
            conn.exec_driver_sql(statement)
    yield url
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse" + (" ON tasks" if "postgres" in url else ""))


REFUSE_TASKS = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE INSERT ON tasks BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}


def test_a_database_failure_midway_leaves_nothing_behind(refusing_tasks, tmp_path):
    # Tasks come after the user, its conversations and messages: those go too.
    _, result = import_document(tmp_path, _document(_good_user()))
    assert result.exit_code == 1 and "refused" in result.stderr and result.stderr.count("\n") == 1
    assert all(rows == [] for rows in snapshot(refusing_tasks).values())


def test_text_is_cleaned_as_the_chat_cleans_it(env, tmp_path):
    # NUL (which PostgreSQL cannot store) goes, a lone surrogate becomes U+FFFD.
    messages = [_message(1, "user", "a\x00b\ud800c")]
    document = _document({"name": "alice", "conversations": [_conversation(messages)]})
    _, result = import_document(tmp_path, document)
    assert (result.exit_code, result.stderr) == (0, "")
    with open_database(env["DATABASE_URL"]).session() as db:
        assert db.scalars(select(Message.content)).all() == ["ab\ufffdc"]
