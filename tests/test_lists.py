"""Named lists (issue 19, item 6): a task may belong to a list; the tools, `todochat tasks
--list`, `/tasks LIST`, `--json` and export/import carry it; names match loosely."""

from __future__ import annotations

import asyncio
import json

import pytest
from app_state import open_chat, tasks_of
from terminal import Terminal
from test_cli_data import run

from todochat.config import load_settings
from todochat.repl.commands import _tasks_arguments
from todochat.tasks.lists import choose, normalize
from todochat.turn import ChatService


def say(service: ChatService, text: str) -> str:
    return asyncio.run(service.turn(text)).reply.replace("*", "")


@pytest.fixture
def lists(env):
    service = open_chat(load_settings())
    for text in (
        "add bread to my shopping list",
        "add eggs to my groceries list",
        "put milk on the grocery list",
        "call the plumber",
    ):
        say(service, text)
    return service


def test_a_task_goes_on_the_list_named_loosely(lists):
    found = {t.title: t.list_name for t in tasks_of(lists)}
    assert found == {
        "bread": "shopping",
        "eggs": "groceries",
        "milk": "groceries",
        "call the plumber": None,
    }
    reply = say(lists, "what's on my grocery list?")
    assert "eggs" in reply and "milk" in reply and "bread" not in reply
    assert "plumber" not in reply
    assert "Deleted #3 milk" in say(lists, "take milk off my grocery list")
    assert [t.title for t in lists.user.tasks.page(list_name="Groceries").tasks] == ["eggs"]


def test_any_model_moves_a_task_between_lists(lists):
    from todochat.tasks import dates, tasklist
    from todochat.tasks.change_log import Cause

    actor = tasklist.Actor(Cause(lists.user_id, None), dates.local_timezone(None))
    with lists.database.session() as db:
        moved = tasklist.update(db, actor, 4, list_name="my Grocery list")
        assert moved.list_name == "groceries"
        assert tasklist.update(db, actor, 1, list_name="to-do").list_name is None


def test_the_offline_model_moves_a_task_to_a_list(lists):
    assert "Updated #4 call the plumber" in say(lists, "move the plumber to my grocery list")
    assert {t.title: t.list_name for t in tasks_of(lists)}["call the plumber"] == "groceries"
    assert "couldn't find" in say(lists, "move the caviar to my shopping list")


def test_the_command_line_and_json_filter_by_list(lists):
    document = json.loads(run("tasks", "--list", "grocery", "--json").stdout)
    assert [(t["title"], t["list_name"]) for t in document] == [
        ("eggs", "groceries"),
        ("milk", "groceries"),
    ]
    assert run("tasks", "--list", "shopping").stdout.split("\t")[2] == "bread"
    exported = json.loads(run("export", "--all").stdout)["users"][0]["tasks"]
    assert {t["title"]: t["list_name"] for t in exported}["bread"] == "shopping"


@pytest.mark.parametrize(
    ("name", "said"),
    [("", "--list needs a list's name"), ("x" * 100_000, "at most 100 characters")],
)
def test_a_blank_or_endless_list_name_is_one_usage_line(env, name, said):
    result = run("tasks", "--list", name)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("Error: ") and said in result.stderr
    assert result.stderr.count("\n") == 1 and len(result.stderr) < 200


def test_slash_tasks_shows_one_list_in_the_terminal(lists, env):
    lists.close()
    term = Terminal(env, "chat")
    try:
        term.prompt()
        shown = term.line("/tasks groceries")
        assert "Open tasks on the groceries list" in shown
        assert "eggs" in shown and "milk" in shown and "bread" not in shown
        assert "plumber" not in shown
    finally:
        term.close()


def test_history_says_a_task_moved():
    from datetime import UTC

    from todochat.tasks.change_lines import _differences

    moved = _differences({"list_name": None}, {"list_name": "shopping"}, UTC)
    assert moved == "moved to the shopping list"
    assert (
        _differences({"list_name": "party"}, {"list_name": None}, UTC) == "moved to the to-do list"
    )


def test_slash_tasks_takes_a_list():
    assert _tasks_arguments("") == ("open", 1, None)
    assert _tasks_arguments("shopping") == ("open", 1, "shopping")
    assert _tasks_arguments("done grocery list 2") == ("done", 2, "grocery list")


def test_names_match_loosely_and_the_todo_list_is_no_list():
    assert normalize("My Grocery List") == "grocery"
    assert normalize("to-do list") is None and normalize("reminders") is None
    assert choose("grocery list", ["groceries", "party"]) == "groceries"
    assert choose("the partys", ["groceries", "party"]) == "party"
    assert choose("wish list", ["groceries"]) == "wish"
