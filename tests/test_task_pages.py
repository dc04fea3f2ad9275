"""Listings the agent and the REPL show are pages: `list_tasks` gives at most a page with the
total and how to get the next, finds a task by title words, and the offline model still acts
on a task that is only on a later page; `/tasks` pages too. On both backends."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, timedelta

import pytest
from app_state import open_chat, tasks_of
from terminal import Terminal

from todochat.agent.context import TodoContext
from todochat.agent.todo_agent import LIST_PAGE, TOOLS
from todochat.tasks import queries as task_queries
from todochat.tasks.dates import Due
from todochat.turn import ChatService

COUNT = 300


def fill(service: ChatService, count: int = COUNT, notes: str = "") -> None:
    """`count` open tasks ("chore 1"...); every tenth due, the later ones sooner."""
    today = date.today()
    with service.database.session() as session:
        for n in range(1, count + 1):
            due = Due(today + timedelta(days=count - n + 1)) if n % 10 == 0 else None
            task_queries.add_task(session, service.user_id, f"chore {n}", notes, due=due)


def call(service: ChatService, name: str, **arguments) -> str:
    """A tool as the SDK calls it for a model, with JSON arguments."""
    from agents.tool_context import ToolContext

    [tool] = [t for t in TOOLS if t.name == name]
    raw = json.dumps(arguments)
    context = ToolContext(
        TodoContext(service.user_id, service.database),
        tool_name=name,
        tool_call_id="call_1",
        tool_arguments=raw,
    )
    return asyncio.run(tool.on_invoke_tool(context, raw))


def numbers(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"^#(\d+) ", output, re.M)]


def in_listing_order(service: ChatService) -> list[int]:
    with service.database.session() as session:
        return [t.number for t in task_queries.list_tasks(session, service.user_id)]


def test_list_tasks_gives_a_page_the_total_and_the_way_to_the_next(settings):
    service = open_chat(settings)
    fill(service, notes="n" * 1500)  # long notes: a page stays bounded all the same
    every = in_listing_order(service)

    first = call(service, "list_tasks")
    head, *_, last = first.splitlines()
    assert head == f"{COUNT} open task(s); these are 1-{LIST_PAGE}:"
    assert numbers(first) == every[:LIST_PAGE]
    assert last == (
        f"Page 1 of 6: call list_tasks with page=2 for the next {LIST_PAGE},"
        " or with search (words of a title) to find a task."
    )
    assert len(first.encode()) < 16_000  # 300 tasks with these notes are about 470 KB

    second = call(service, "list_tasks", page=2)
    assert second.splitlines()[0] == f"{COUNT} open task(s); these are 51-100:"
    assert numbers(second) == every[LIST_PAGE : 2 * LIST_PAGE]
    final = call(service, "list_tasks", page=6)
    assert numbers(final) == every[250:] and "call list_tasks with page" not in final
    assert call(service, "list_tasks", page=7) == (
        f"{COUNT} open task(s): page 7 is past the last (6 page(s) of {LIST_PAGE})."
    )
    assert call(service, "list_tasks", page=0) == (
        "Error: pages are numbered from 1 to 1,000,000, not 0."
    )


def test_a_short_list_is_as_it_always_was(settings):
    service = open_chat(settings)
    fill(service, 3, notes="bring the invoice")
    assert call(service, "list_tasks") == (
        "3 open task(s):\n"
        "#1 chore 1 [open] (notes: bring the invoice)\n"
        "#2 chore 2 [open] (notes: bring the invoice)\n"
        "#3 chore 3 [open] (notes: bring the invoice)"
    )
    assert call(service, "list_tasks", status="done") == "No completed tasks."
    assert call(service, "list_tasks", due="today") == "No open tasks due today."


def test_search_finds_a_title_anywhere_in_the_list_best_match_first(settings):
    service = open_chat(settings)
    fill(service)
    with service.database.session() as session:
        task_queries.add_task(session, service.user_id, "Water the FICUS", "x" * 900)
        task_queries.add_task(session, service.user_id, "water the lawn")
        task_queries.add_task(session, service.user_id, "50% off: buy_paint")
    assert call(service, "list_tasks", search="ficus") == (
        "1 open task(s) matching 'ficus':\n#301 Water the FICUS [open] (notes: " + "x" * 900 + ")"
    )
    found = call(service, "list_tasks", search="water ficus")
    assert numbers(found) == [301, 302]  # both words before one
    assert numbers(call(service, "list_tasks", search="50% buy_")) == [303]  # no wildcards
    many = call(service, "list_tasks", search="chore")
    assert many.startswith(f"{COUNT} open task(s) matching 'chore'; these are 1-50:")
    assert call(service, "list_tasks", search="parrot") == "No open tasks matching 'parrot'."


def test_the_offline_model_acts_on_a_task_only_a_later_page_lists(settings):
    service = open_chat(settings)
    fill(service)
    with service.database.session() as session:
        task_queries.add_task(session, service.user_id, "renew the passport")
        for n in range(1, 121):  # touched since, so the passport is not in the instructions
            task_queries.update_task(session, service.user_id, n, notes="y" * 60)
    page = (in_listing_order(service).index(301)) // LIST_PAGE + 1
    assert page >= 3
    assert "#301" not in call(service, "list_tasks") + call(service, "list_tasks", page=2)

    reply = asyncio.run(service.turn("I renewed the pasport")).reply
    # A typo'd title is confirmed before it changes (issue 19, item 7); found all the same.
    assert reply.startswith("Do you mean #301 renew the passport?")
    assert tasks_of(service, "done") == []
    assert "#301 renew the passport" in asyncio.run(service.turn("yes")).reply
    assert [t.number for t in tasks_of(service, "done")] == [301]


def test_the_offline_model_shows_more_and_says_when_there_is_no_more(settings):
    service = open_chat(settings)
    fill(service, 120)
    every = in_listing_order(service)
    first = asyncio.run(service.turn("what's left?")).reply
    assert first.startswith("120 open tasks; these are 1-50:")
    assert first.endswith("Page 1 of 3: say *show more* for the next 50.")
    assert re.findall(r"\*\*#(\d+) ", first) == [str(n) for n in every[:50]]
    second = asyncio.run(service.turn("show more")).reply
    assert re.findall(r"\*\*#(\d+) ", second) == [str(n) for n in every[50:100]]
    third = asyncio.run(service.turn("next page")).reply
    assert re.findall(r"\*\*#(\d+) ", third) == [str(n) for n in every[100:]]
    assert "show more" not in third
    assert "no more" in asyncio.run(service.turn("more")).reply


@pytest.mark.parametrize("app_db_url", ["sqlite", "postgresql"], indirect=True)
def test_the_repl_tasks_command_pages(env, settings):
    service = open_chat(settings)
    fill(service, 250)
    every = in_listing_order(service)
    term = Terminal(env, "chat")
    try:
        term.prompt()
        shown = term.line("/tasks")
        assert "Showing 1-100 of 250 open tasks; /tasks 2 shows the next 100." in shown
        rows = [int(n) for n in re.findall(r"^\s*(\d+) │ chore", shown, re.M)]
        assert rows == every[:100]
        shown = term.line("/tasks 3")
        assert "Showing 201-250 of 250 open tasks." in shown
        assert [int(n) for n in re.findall(r"^\s*(\d+) │ chore", shown, re.M)] == every[200:]
        assert "Page 4 is past the last: 250 open tasks, 3 page(s)." in term.line("/tasks 4")
        assert "No completed tasks." in term.line("/tasks done 1")
        assert (
            "Error: /tasks takes all or done, a list and a page number, not 'all 2 3'"
            in term.line("/tasks all 2 3")
        )
    finally:
        term.close()
