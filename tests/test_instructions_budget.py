"""The agent's instructions stay within their budget however many open tasks the user has,
and the offline model still finds a task the cut listing leaves out."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import pytest
from app_state import open_chat, tasks_of

from todochat.tasks import dates
from todochat.tasks import queries as task_queries
from todochat.tasks.dates import Due
from todochat.turn import ChatService


def fill(service: ChatService, count: int, notes: str = "") -> None:
    """`count` open tasks; every tenth is due, counting down so the last added is due first."""
    today = date.today()
    with service.database.session() as session:
        for n in range(1, count + 1):
            due = Due(today + timedelta(days=count - n + 1), None) if n % 10 == 0 else None
            task_queries.add_task(session, service.user_id, f"chore number {n}", notes, due=due)


def build(service: ChatService) -> str:
    from agents import RunContextWrapper

    from todochat.agent.context import TodoContext
    from todochat.agent.todo_agent import instructions, todo_agent

    context = TodoContext(service.user_id, service.database)
    return instructions(RunContextWrapper(context=context), todo_agent)


@pytest.mark.parametrize("count", [10, 200, 2000])
def test_instructions_stay_within_budget(settings, count):
    from todochat.agent.todo_agent import INSTRUCTIONS_BUDGET

    service = open_chat(settings)
    fill(service, count, notes="x" * 600)
    started = time.perf_counter()
    text = build(service)
    elapsed = time.perf_counter() - started
    assert len(text.encode()) <= INSTRUCTIONS_BUDGET
    listed = [line for line in text.splitlines() if line.startswith("#")]
    if count == 10:
        assert len(listed) == 10 and "list_tasks" not in text.split("open tasks:")[1]
        return
    # The soonest due come first, then the most recently touched undated ones.
    assert listed[0].startswith(f"#{count} chore number {count} [open] (due ")
    assert f"more open task(s) not listed here ({count} open in all)" in text
    assert f"...and {count - len(listed)} more" in text
    assert elapsed < 1.0  # generous: the bench measures it; this only catches a full scan


def test_the_offline_model_looks_up_a_task_the_listing_leaves_out(settings):
    service = open_chat(settings)
    fill(service, 300)
    with service.database.session() as session:
        task_queries.add_task(session, service.user_id, "water the ficus")
        for n in range(1, 40):  # touched later, so the ficus drops out of the listing
            task_queries.update_task(session, service.user_id, n * 7, notes="y" * 300)
    assert "water the ficus" not in build(service)
    reply = asyncio.run(service.turn("I watered the ficus")).reply
    assert "#301 water the ficus" in reply
    assert [t.number for t in tasks_of(service, "done")] == [301]


# --- the order of the listing: what the index m005 serves must be what was always listed ---


def _stamp(minutes: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)


def _put(service: ChatService, specs: list[dict]) -> None:
    """Tasks with the given fields, touched at the given times (numbers in list order)."""
    with service.database.session() as session:
        for spec in specs:
            fields = dict(spec)
            touched = fields.pop("touched", 0)
            task = task_queries.add_task(session, service.user_id, fields.pop("title"))
            for name, value in fields.items():
                setattr(task, name, value)
            task.updated_at = _stamp(touched)


def pressing(service: ChatService, limit: int = 100) -> tuple[list[int], int]:
    with service.database.session() as session:
        rows, total = task_queries.pressing_open_tasks(session, service.user_id, limit)
    return [row.number for row in rows], total


def test_the_listing_orders_ties_overdue_times_and_recently_touched(settings):
    tz = dates.local_timezone()
    today = dates.today(tz)
    at_nine = datetime.combine(today, clock(9), tzinfo=tz).astimezone(UTC)
    tomorrow = today + timedelta(days=1)
    _put(
        open_chat(settings),
        [
            {"title": "undated, touched long ago", "touched": 1},  # 1
            {"title": "due today, no time", "due_on": today, "touched": 50},  # 2
            {"title": "due today at nine", "due_on": today, "due_at": at_nine, "touched": 5},  # 3
            {"title": "undated, touched last", "touched": 90},  # 4
            {"title": "due tomorrow, tied", "due_on": tomorrow, "touched": 7},  # 5
            {
                "title": "due at nine, touched later",
                "due_on": today,
                "due_at": at_nine,
                "touched": 6,
            },  # 6
            {"title": "due tomorrow, tied too", "due_on": tomorrow, "touched": 7},  # 7
            {"title": "overdue", "due_on": today - timedelta(days=3), "touched": 0},  # 8
            {"title": "undated, tied", "touched": 60},  # 9
            {"title": "undated, tied too", "touched": 60},  # 10
            {"title": "done and overdue", "due_on": today - timedelta(days=9), "done": True},  # 11
            # A moment without a day: only an import can leave one; it sorts before the undated.
            {"title": "a moment without a day", "due_at": at_nine, "touched": 2},  # 12
        ],
    )
    service = open_chat(settings)
    other = open_chat(settings, user="bob")  # another user's tasks never show
    _put(other, [{"title": "bob's overdue", "due_on": today - timedelta(days=5)}])

    expected = [8, 6, 3, 2, 5, 7, 12, 4, 9, 10, 1]
    assert pressing(service) == (expected, 11)
    assert pressing(service, 3) == (expected[:3], 11)
    listed = [line for line in build(service).splitlines() if line.startswith("#")]
    assert [int(line[1:].split()[0]) for line in listed] == expected
    assert listed[0].startswith("#8 overdue [open] (due ") and listed[0].endswith(", overdue)")
    assert pressing(other) == ([1], 1)


def test_the_listing_order_matches_a_sort_of_every_open_task(settings):
    """Many ties (three days, two moments, five touch times), done tasks among them."""
    tz = dates.local_timezone()
    today = dates.today(tz)
    moments = [datetime.combine(today, clock(h), tzinfo=tz).astimezone(UTC) for h in (8, 17)]
    chosen = random.Random(14)
    specs = []
    for n in range(300):
        day = chosen.choice([None, None, today - timedelta(days=1), today, today + timedelta(2)])
        moment = chosen.choice([None, *moments]) if day == today else None
        done = chosen.random() < 0.2
        specs.append(
            {
                "title": f"task {n}",
                "due_on": day,
                "due_at": moment,
                "done": done,
                "touched": chosen.randrange(5),
            }
        )
    service = open_chat(settings)
    _put(service, specs)
    with service.database.session() as session:
        every = task_queries.list_tasks(session, service.user_id, "open")
        oracle = sorted(
            every,
            key=lambda t: (
                t.due_on is None,
                t.due_on or date.min,
                t.due_at is None,
                t.due_at or _stamp(0),
                -t.updated_at.timestamp(),
                t.number,
            ),
        )
    numbers, total = pressing(service)
    assert total == len(every) == sum(not s["done"] for s in specs)
    assert numbers == [t.number for t in oracle[:100]]


def test_the_listing_reads_the_index_and_sorts_nothing(settings):
    """EXPLAIN on both backends: the pressing tasks come off ix_tasks_user_pressing in order
    (no sort step), for a user with a couple of thousand open tasks among other users'."""
    from sqlalchemy import insert

    from todochat.db.models import Task

    service = open_chat(settings)
    others = [open_chat(settings, user=f"user{n}").user_id for n in range(5)]
    rows = [
        {
            "user_id": user,
            "number": n,
            "title": f"t{n}",
            "notes": "",
            "done": n % 3 == 0,
            "due_on": date(2026, 1, 1) + timedelta(days=n % 40) if n % 10 == 0 else None,
            "updated_at": _stamp(n),
            "created_at": _stamp(0),
        }
        for user in [service.user_id, *others]
        for n in range(1, 2001)
    ]
    database = service.database
    with database.session() as session:
        session.execute(insert(Task), rows)
    dialect = database.engine.dialect.name
    with database.engine.connect() as conn:
        if dialect == "postgresql":  # as autovacuum would; the app never analyzes SQLite
            conn.exec_driver_sql("ANALYZE")
        query = task_queries.PRESSING_QUERY.params(
            user_id=service.user_id, limit=100, notes_cut=201
        )
        sql = str(
            query.compile(dialect=database.engine.dialect, compile_kwargs={"literal_binds": True})
        )
        explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        plan = "\n".join(str(row[-1]) for row in conn.exec_driver_sql(explain + sql))
    assert "ix_tasks_user_pressing" in plan, plan
    assert ("TEMP B-TREE" if dialect == "sqlite" else "Sort") not in plan, plan
