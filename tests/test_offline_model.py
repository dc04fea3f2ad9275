"""The offline model: the labelled corpus, the tool schema it reads, and chats through the
real tools on both app-database backends."""

from __future__ import annotations

import asyncio

import pytest
from app_state import open_chat, tasks_of

from bench import offline_corpus
from todochat.agent.offline import tool_schema
from todochat.agent.offline_intents import decide
from todochat.agent.offline_replies import HELP, Reply, ToolCall
from todochat.turn import ChatService

CASES = offline_corpus.load()[1]
INSTRUCTIONS = (
    "You are todochat.\n\nThe user's open tasks:\n"
    "#1 buy groceries [open]\n#2 pay rent [open]\n#3 call mom [open] (notes: evening)"
)


def test_the_corpus_is_large_and_covers_every_kind_of_answer():
    kinds = {
        type(c.expected).__name__ if not isinstance(c.expected, str) else c.expected for c in CASES
    }
    assert len(CASES) >= 300 and kinds == {"list", "dict", "asks", "help"}
    assert len({(c.scenario, c.message) for c in CASES}) == len(CASES), "duplicate case"


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.scenario}:{c.message[:40]}")
def test_no_phrasing_changes_data_it_should_not(case):
    """A miss is allowed (the accuracy below counts it); a wrong change never is."""
    [outcome] = offline_corpus.run([case])
    assert outcome.wrong_actions == 0, outcome.got


def test_corpus_accuracy():
    outcomes = offline_corpus.run()
    misses = [(o.case.message, o.got) for o in outcomes if not o.correct]
    assert len(misses) <= 0.03 * len(outcomes), misses


def decide_with(message: str, tools, history=()) -> object:
    return decide(message, [*history, {"role": "user", "content": message}], INSTRUCTIONS, tools)


def test_dates_go_to_the_tools_only_when_they_take_them():
    contract, today = offline_corpus.CONTRACT, offline_corpus.TODAY
    assert decide_with("call the plumber tomorrow", contract) == (
        ToolCall("add_task", {"title": "call the plumber", "due": "tomorrow"}),
    )
    assert decide_with("call the plumber tomorrow", today) == (
        ToolCall("add_task", {"title": "call the plumber tomorrow"}),
    )
    assert decide_with("what's due today?", today) == (ToolCall("list_tasks", {"status": "open"}),)
    moved = decide_with("move the rent to friday", today)
    assert isinstance(moved, Reply) and "can't set due dates" in moved.text


def test_undo_calls_the_tool_only_when_it_exists():
    assert decide_with("undo that", offline_corpus.CONTRACT) == (ToolCall("undo_last_change", {}),)
    refused = decide_with("undo that", offline_corpus.TODAY)
    assert isinstance(refused, Reply) and "can't undo" in refused.text


def test_no_tool_means_no_call():
    only_listing = {"list_tasks": {"status"}}
    assert isinstance(decide_with("buy milk", only_listing), Reply)
    assert isinstance(decide_with("delete task 2", only_listing), Reply)


def test_the_schema_is_read_from_the_agents_real_tools():
    from todochat.agent.todo_agent import TOOLS

    schema = tool_schema(TOOLS)
    assert schema["add_task"] >= {"title", "notes"}
    assert schema["complete_task"] == {"task_number"}
    expected = {"title": "call the plumber", "due": "tomorrow"}
    if "due" not in schema["add_task"]:
        expected = {"title": "call the plumber tomorrow"}
    assert decide_with("call the plumber tomorrow", schema) == (ToolCall("add_task", expected),)


def test_anything_else_gets_help():
    assert decide_with("what's the weather like", offline_corpus.TODAY) == Reply(HELP, "help")


def say(service: ChatService, text: str) -> str:
    return asyncio.run(service.turn(text)).reply


def test_conversation_through_the_real_tools(settings):
    service = open_chat(settings)
    say(service, "create a task to buy groceries")
    say(service, "remind me to pay rent")
    say(service, "add call mom to my list")
    assert "#2 pay rent" in say(service, "what tasks do I have?")
    say(service, "I finished the groceries")
    assert "#1 buy groceries" in say(service, "show my completed tasks")
    say(service, "reopen task 1")
    say(service, "rename task 1 to buy food")
    say(service, "add milk to that task")
    say(service, "remove the rent task")
    say(service, "mark 3 as done")
    assert say(service, "what did I just ask you?") == "You asked: “mark 3 as done”"
    assert (
        say(service, "what did I say first?") == "You first said: “create a task to buy groceries”"
    )
    tasks = {t.number: (t.title, t.notes, t.done) for t in tasks_of(service, "all")}
    assert tasks == {1: ("buy food", "milk", False), 3: ("call mom", "", True)}


def test_the_issues_phrasings_through_the_real_tools(settings):
    """Each phrasing that once did the wrong thing silently, in one chat."""
    service = open_chat(settings)
    assert "renew passport" in say(service, "put 'renew passport' on my list")
    reply = say(service, "create two tasks: wash car and walk dog")
    assert "#2 wash car" in reply and "#3 walk dog" in reply
    say(service, "- buy milk\n- call the plumber")
    say(service, "add 'call mom' to my todo list")
    assert "changed nothing" in say(service, "clear my list") and len(tasks_of(service)) == 6
    say(service, "change the plumber task to call the electrician")
    say(service, "scratch the passport one")
    listing = say(service, "what's left?")
    assert "call the electrician" in listing and "renew passport" not in listing
    titles = {t.number: t.title for t in tasks_of(service, "all")}
    assert titles == {
        2: "wash car",
        3: "walk dog",
        4: "buy milk",
        5: "call the electrician",
        6: "call mom",
    }
    assert (
        say(service, "what did I say first?") == "You first said: “put 'renew passport' on my list”"
    )


def test_undo_that_after_delete_it(settings):
    from todochat.agent.todo_agent import TOOLS

    service = open_chat(settings)
    say(service, "buy groceries")
    say(service, "delete it")
    reply = say(service, "undo that")
    titles = [t.title for t in tasks_of(service, "all")]
    if "undo_last_change" in {t.name for t in TOOLS}:
        assert titles == ["buy groceries"]
    else:
        assert "can't undo" in reply and titles == []
    assert "Reopened" not in reply


def run_offline(tools: list, message: str) -> str:
    """One run of the offline model through the SDK with exactly these tools."""
    from agents import Agent, RunConfig, Runner

    from todochat.agent.offline import OfflineModel

    agent = Agent(name="probe", instructions="No tasks.", tools=tools, model=OfflineModel())
    config = RunConfig(tracing_disabled=True)
    return Runner.run_sync(agent, message, run_config=config).final_output


def test_the_sdk_hands_the_tools_over_and_the_model_uses_undo_and_due_when_given():
    from agents import function_tool

    calls: list[tuple[str, dict]] = []

    @function_tool
    def undo_last_change() -> str:
        """Revert the most recent change of this conversation."""
        calls.append(("undo_last_change", {}))
        return "Undid: added task #1 buy milk"

    @function_tool
    def add_task(title: str, notes: str = "", due: str | None = None) -> str:
        """Add a task."""
        calls.append(("add_task", {"title": title, "due": due}))
        return f"Added task #1 {title} [open]"

    assert "Undid" in run_offline([undo_last_change, add_task], "undo that")
    run_offline([undo_last_change, add_task], "call mom tomorrow")
    assert calls == [
        ("undo_last_change", {}),
        ("add_task", {"title": "call mom", "due": "tomorrow"}),
    ]


def test_without_those_tools_it_says_so_and_keeps_the_date_in_the_title():
    from agents import function_tool

    titles: list[str] = []

    @function_tool
    def add_task(title: str, notes: str = "") -> str:
        """Add a task."""
        titles.append(title)
        return f"Added task #1 {title} [open]"

    assert "can't undo" in run_offline([add_task], "undo that")
    run_offline([add_task], "call mom tomorrow")
    assert titles == ["call mom tomorrow"]
