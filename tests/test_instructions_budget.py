"""The agent's instructions stay within their budget however many open tasks the user has,
and the offline model still finds a task the cut listing leaves out."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta

import pytest

from todochat.chat.service import ChatService
from todochat.dates import Due
from todochat.db import tasks as task_queries


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

    service = ChatService(settings)
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
    service = ChatService(settings)
    fill(service, 300)
    with service.database.session() as session:
        task_queries.add_task(session, service.user_id, "water the ficus")
        for n in range(1, 40):  # touched later, so the ficus drops out of the listing
            task_queries.update_task(session, service.user_id, n * 7, notes="y" * 300)
    assert "water the ficus" not in build(service)
    reply = asyncio.run(service.turn("I watered the ficus")).reply
    assert "#301 water the ficus" in reply
    assert [t.number for t in service.tasks("done")] == [301]
