"""Tasks people keep, on both backends: due dates, numbers never reused, the change log, undo."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from app_state import open_chat
from sqlalchemy import select

from todochat.db import open_database
from todochat.db.models import TaskChange
from todochat.errors import AppDatabaseError, ConflictError, InvalidInputError, NotFoundError
from todochat.log import conversations as conversation_queries
from todochat.log import messages as message_queries
from todochat.log import users as user_queries
from todochat.tasks import change_log as changes
from todochat.tasks import queries as task_queries
from todochat.tasks import tasklist
from todochat.tasks.change_lines import describe_change
from todochat.tasks.change_log import Cause

UTC_ZONE = ZoneInfo("UTC")


@pytest.fixture
def database(app_db_url):
    return open_database(app_db_url)


@pytest.fixture
def alice(database):
    with database.session() as session:
        return user_queries.get_or_create_user(session, "alice").id


def conversation(database, user_id, said="hello") -> tasklist.Actor:
    """A conversation with one user message: the cause of the changes made with this actor."""
    with database.session() as session:
        found = conversation_queries.create_conversation(session, user_id)
        message = message_queries.add_message(session, found.id, message_queries.USER, said)
    return tasklist.Actor(Cause(user_id, found.id, message.id), UTC_ZONE)


def act(database, fn, *args, **kwargs):
    with database.session() as session:
        return fn(session, *args, **kwargs)


def numbers(database, user_id, status="all") -> list[int]:
    with database.session() as session:
        return [t.number for t in task_queries.list_tasks(session, user_id, status)]


def test_due_dates_and_priority_sort_and_filter(database, alice):
    actor = conversation(database, alice)
    act(database, tasklist.add, actor, "undated")
    act(database, tasklist.add, actor, "rent", due="2026-12-01", priority="high")
    act(database, tasklist.add, actor, "dentist", due="2026-11-25 15:00")
    act(database, tasklist.add, actor, "plants", due="2026-11-25")
    act(database, tasklist.add, actor, "old", due="2026-11-20")
    done = act(database, tasklist.add, actor, "filed", due="2026-11-01")
    act(database, tasklist.set_done, actor, done.number, True)
    # Soonest first; a timed task before an untimed one the same day; undated last.
    assert numbers(database, alice, "open") == [5, 3, 4, 2, 1]

    def due(which, when):
        today, now = when.date(), when
        with database.session() as session:
            found = task_queries.list_tasks(session, alice, "open", which, today=today, now=now)
            return [t.title for t in found]

    afternoon = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert due("today", afternoon) == ["dentist", "plants"]
    assert due("week", afternoon) == ["dentist", "plants", "rent"]
    assert due("overdue", afternoon) == ["old", "dentist"]  # 15:00 has passed; "filed" is done
    assert due("overdue", datetime(2026, 11, 25, 9, 0, tzinfo=UTC)) == ["old"]
    with database.session() as session:
        rent = task_queries.get_task(session, alice, 2)
        assert (rent.due_on, rent.due_at, rent.priority) == (date(2026, 12, 1), None, "high")
        dentist = task_queries.get_task(session, alice, 3)
        assert dentist.due_at == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_a_date_that_does_not_parse_changes_nothing(database, alice):
    actor = conversation(database, alice)
    with pytest.raises(InvalidInputError, match="cannot read 'whenever' as a date"):
        act(database, tasklist.add, actor, "call the plumber", due="whenever")
    act(database, tasklist.add, actor, "call the plumber", due="tomorrow")
    with pytest.raises(InvalidInputError, match="priority is one of low, normal, high"):
        act(database, tasklist.update, actor, 1, priority="urgent")
    act(database, tasklist.update, actor, 1, clear_due=True)
    with database.session() as session:
        task = task_queries.get_task(session, alice, 1)
        assert (task.number, task.due_on, task.priority) == (1, None, None)
        assert len(list(session.scalars(select(TaskChange)))) == 2  # the add, the clear


def test_numbers_are_never_reused(database, alice):
    actor = conversation(database, alice)
    for title in ("one", "two", "three"):
        act(database, tasklist.add, actor, title)
    act(database, tasklist.delete, actor, 3)
    assert act(database, tasklist.add, actor, "four").number == 4
    for number in (1, 2, 4):
        act(database, tasklist.delete, actor, number)
    assert act(database, tasklist.add, actor, "five").number == 5
    bob = conversation(database, _user(database, "bob"))
    assert act(database, tasklist.add, bob, "bob's first").number == 1


def _user(database, name):
    with database.session() as session:
        return user_queries.get_or_create_user(session, name).id


ADDER = """
import sys
from todochat.db import open_database
from todochat.tasks import queries as tasks
from todochat.log import users
database = open_database(sys.argv[1])
with database.session() as session:
    user_id = users.get_or_create_user(session, "alice").id
for i in range(5):
    with database.session() as session:
        task = tasks.add_task(session, user_id, f"{sys.argv[2]}-{i}")
    if i == 4:  # drop the highest number this process got: it must never come back
        with database.session() as session:
            tasks.delete_task(session, user_id, task.number)
"""


def test_concurrent_processes_never_share_or_reuse_numbers(database, alice, app_db_url):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ADDER, app_db_url, f"p{p}"], stderr=subprocess.PIPE, text=True
        )
        for p in range(4)
    ]
    assert [p.stderr.read() for p in procs if p.wait(timeout=60) != 0] == []
    kept = numbers(database, alice)
    assert len(kept) == len(set(kept)) == 16
    assert set(kept) < set(range(1, 21))
    with database.session() as session:
        assert task_queries.add_task(session, alice, "after").number == 21


def test_every_change_is_logged_with_its_cause(database, alice):
    actor = conversation(database, alice, "add call mom due friday")
    act(database, tasklist.add, actor, "call mom", due="2026-11-27")
    act(database, tasklist.update, actor, 1, append_notes="ask about xmas", due="2026-11-28")
    act(database, tasklist.set_done, actor, 1, True)
    act(database, tasklist.delete, actor, 1)
    with database.session() as session:
        logged = changes.conversation_changes(session, actor.cause.conversation_id)
    assert [c.action for c in logged] == ["added", "updated", "completed", "deleted"]
    assert {(c.message_id, c.task_number, c.user_id) for c in logged} == {
        (actor.cause.message_id, 1, alice)
    }
    added, updated, completed, deleted = logged
    assert (added.before, added.after["due_on"]) == (None, "2026-11-27")
    assert (updated.before["notes"], updated.after["notes"]) == ("", "ask about xmas")
    assert (completed.before["done"], completed.after["done"]) == (False, True)
    assert (deleted.before["title"], deleted.after) == ("call mom", None)
    assert [describe_change(c, UTC_ZONE) for c in logged] == [
        "added #1 call mom (due Fri 27 Nov" + _year(2026) + ")",
        "updated #1 call mom: notes changed; due Sat 28 Nov"
        + _year(2026)
        + " (was Fri 27 Nov"
        + _year(2026)
        + ")",
        "completed #1 call mom",
        "deleted #1 call mom",
    ]


def _year(year):
    return "" if datetime.now(UTC).year == year else f" {year}"


def test_a_change_and_its_log_entry_commit_together(database, alice):
    """A log entry that cannot be written (its message is gone) takes the change with it."""
    actor = conversation(database, alice)
    ghost = tasklist.Actor(Cause(alice, actor.cause.conversation_id, 10**9), UTC_ZONE)
    with pytest.raises(AppDatabaseError):
        act(database, tasklist.add, ghost, "never")
    assert numbers(database, alice) == []
    assert act(database, tasklist.add, actor, "kept").number == 1  # the counter rolled back too


def test_undo_walks_back_through_the_conversation(database, alice):
    actor = conversation(database, alice)
    act(database, tasklist.add, actor, "pay rent", "landlord: 2nd floor", due="2026-12-01 09:00")
    act(database, tasklist.add, actor, "buy milk")
    act(database, tasklist.update, actor, 1, title="pay the rent", clear_due=True)
    act(database, tasklist.set_done, actor, 2, True)
    act(database, tasklist.delete, actor, 1)

    def state():
        with database.session() as session:
            found = task_queries.list_tasks(session, alice, "all")
            return [(t.number, t.title, t.notes, t.done, t.due_at) for t in found]

    nine = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    undo = [act(database, tasklist.undo_and_describe, actor) for _ in range(2)]
    assert undo[0] == "Undone: deleted #1 pay the rent"
    assert undo[1] == "Undone: completed #2 buy milk"
    assert state() == [
        (1, "pay the rent", "landlord: 2nd floor", False, None),
        (2, "buy milk", "", False, None),
    ]
    assert act(database, tasklist.undo_and_describe, actor).startswith("Undone: updated #1")
    assert state() == [
        (1, "pay rent", "landlord: 2nd floor", False, nine),
        (2, "buy milk", "", False, None),
    ]
    act(database, tasklist.undo_and_describe, actor)
    act(database, tasklist.undo_and_describe, actor)
    assert state() == []
    with pytest.raises(NotFoundError, match="nothing left to undo in this conversation"):
        act(database, tasklist.undo_and_describe, actor)
    assert act(database, tasklist.add, actor, "next").number == 3  # undone adds keep theirs
    with database.session() as session:
        logged = changes.conversation_changes(session, actor.cause.conversation_id)
    assert [c.action for c in logged].count("undo") == 5


def test_undo_never_clobbers_another_conversations_later_change(database, alice):
    first, second = conversation(database, alice), conversation(database, alice)
    act(database, tasklist.add, first, "call mom")
    act(database, tasklist.add, first, "water plants")
    act(database, tasklist.set_done, second, 1, True)
    assert act(database, tasklist.undo_and_describe, first) == "Undone: added #2 water plants"
    with pytest.raises(ConflictError) as refused:
        act(database, tasklist.undo_and_describe, first)
    short = second.cause.conversation_id.hex[:8]
    assert str(refused.value) == (
        f"cannot undo 'added #1 call mom': #1 was changed since in conversation {short}; "
        "undo it there first or change the task by hand"
    )
    assert numbers(database, alice) == [1]
    # Once the other conversation takes its change back, this one may go on.
    assert act(database, tasklist.undo_and_describe, second) == "Undone: completed #1 call mom"
    assert act(database, tasklist.undo_and_describe, first) == "Undone: added #1 call mom"
    assert numbers(database, alice) == []


def test_undo_never_reaches_another_users_task(database, alice):
    """A change logged against someone else's task (an import of a crafted file could once
    write one) is refused by undo: the other user's task is left as it is."""
    with database.session() as session:
        bob = user_queries.get_or_create_user(session, "bob").id
    bobs = act(database, tasklist.add, conversation(database, bob), "bob's own task")
    actor = conversation(database, alice)
    with database.session() as session:
        task = session.get(type(bobs), bobs.id)
        changes.record(
            session, actor.cause, task, "updated", {**changes.snapshot(task), "title": "x"}
        )
    with pytest.raises(NotFoundError, match="not one of your tasks"):
        act(database, tasklist.undo_last, actor)
    with database.session() as session:
        assert [t.title for t in task_queries.list_tasks(session, bob, "all")] == ["bob's own task"]


def test_undo_needs_a_conversation(database, alice):
    nowhere = tasklist.Actor(Cause(alice), UTC_ZONE)
    with pytest.raises(NotFoundError, match="this run has no conversation"):
        act(database, tasklist.undo_and_describe, nowhere)


def test_a_network_model_uses_the_tools_contract(env, monkeypatch):
    """Through the SDK and real HTTP: `due` text read on our side, errors as the tool's
    answer, changes logged against the turn's message, and `undo_last_change`."""
    import asyncio
    import json

    from openai_server import OpenAIServer, Reply

    from todochat.config import load_settings

    script = [
        Reply(tool="add_task", arguments={"title": "call the plumber", "due": "2099-03-02 9am"}),
        Reply(text="Added."),
        Reply(tool="list_tasks", arguments={"status": "all", "due": "overdue"}),
        Reply(text="None."),
        Reply(tool="add_task", arguments={"title": "x", "due": "whenever", "priority": "high"}),
        Reply(text="Sorry."),
        Reply(tool="undo_last_change"),
        Reply(text="Undone."),
    ]
    monkeypatch.setenv("TODOCHAT_TIMEZONE", "America/New_York")
    with OpenAIServer(script=script) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("TODOCHAT_MODEL", "fake-model")
        service = open_chat(load_settings())
        turns = ("call the plumber on march 2nd at 9", "what's overdue?", "x whenever", "undo")
        for said in turns:
            asyncio.run(service.turn(said))
        service.close()
        outputs = [json.dumps(r.body) for r in server.requests[1::2]]
        tools = json.dumps(server.requests[0].body["tools"])
        listed = server.requests[2].instructions
    assert "Added task #1 call the plumber [open] (due Mon 2 Mar 2099 09:00)" in outputs[0]
    assert "#1 call the plumber [open] (due Mon 2 Mar 2099 09:00)" in listed  # instructions
    assert "No overdue tasks." in outputs[1]
    assert "Error: cannot read 'whenever' as a date" in outputs[2]
    assert "Undone: added #1 call the plumber (due Mon 2 Mar 2099 09:00)" in outputs[3]
    for name in ("undo_last_change", "clear_due", '"due"', "priority", "overdue"):
        assert name in tools
    database = open_database(env["DATABASE_URL"])
    with database.session() as session:
        logged = changes.conversation_changes(session, service.conversation_id)
        said = message_queries.list_messages(session, service.conversation_id)
    assert [(c.action, c.message_id) for c in logged] == [
        ("added", said[0].id),
        ("undo", said[6].id),
    ]
    assert logged[0].after["due_at"] == "2099-03-02T14:00:00+00:00"  # 09:00 in New York
    assert numbers(database, service.user_id) == []
