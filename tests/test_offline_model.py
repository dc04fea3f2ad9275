"""The offline model understands every phrasing the issue names, through the real tools."""

from __future__ import annotations

import asyncio

import pytest

from todochat.agent.offline_intents import HELP, Reply, ToolCall, decide
from todochat.chat.service import ChatService

INSTRUCTIONS = (
    "You are todochat.\n\nThe user's open tasks:\n"
    "#1 buy groceries [open]\n#2 pay rent [open]\n#3 call mom [open] (notes: evening)"
)
AFTER_GROCERIES = [
    {"role": "user", "content": "create a task to buy groceries"},
    {
        "type": "function_call",
        "name": "add_task",
        "call_id": "c1",
        "arguments": '{"title": "buy groceries"}',
    },
    {
        "type": "function_call_output",
        "call_id": "c1",
        "output": "Added task #1 buy groceries [open]",
    },
    {"role": "assistant", "content": "Added **#1 buy groceries**."},
]


def decide_after(message: str, history=AFTER_GROCERIES):
    return decide(message, [*history, {"role": "user", "content": message}], INSTRUCTIONS)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("create a task to buy groceries", ToolCall("add_task", {"title": "buy groceries"})),
        ("add call mom to my list", ToolCall("add_task", {"title": "call mom"})),
        ("remind me to pay rent", ToolCall("add_task", {"title": "pay rent"})),
        ("Remind me to call the Bank", ToolCall("add_task", {"title": "call the Bank"})),
        ("what tasks do I have?", ToolCall("list_tasks", {"status": "open"})),
        ("show my completed tasks", ToolCall("list_tasks", {"status": "done"})),
        ("show all my tasks", ToolCall("list_tasks", {"status": "all"})),
        ("I finished the groceries", ToolCall("complete_task", {"task_number": 1})),
        ("mark 2 as done", ToolCall("complete_task", {"task_number": 2})),
        ("reopen task 2", ToolCall("reopen_task", {"task_number": 2})),
        (
            "rename task 1 to buy food",
            ToolCall("update_task", {"task_number": 1, "title": "buy food"}),
        ),
        (
            "add milk to that task",
            ToolCall("update_task", {"task_number": 1, "append_notes": "milk"}),
        ),
        ("delete it", ToolCall("delete_task", {"task_number": 1})),
        ("complete the last one", ToolCall("complete_task", {"task_number": 1})),
        ("remove the rent task", ToolCall("delete_task", {"task_number": 2})),
    ],
)
def test_everyday_phrasings(message, expected):
    assert decide_after(message) == expected


def test_that_task_with_no_history_asks_which():
    decision = decide(
        "add milk to that task",
        [{"role": "user", "content": "add milk to that task"}],
        INSTRUCTIONS,
    )
    assert isinstance(decision, Reply) and "which task" in decision.text.lower()


def test_an_unknown_title_is_a_question_not_a_guess():
    decision = decide_after("I finished the laundry")
    assert isinstance(decision, Reply) and "laundry" in decision.text


def test_a_deleted_task_is_no_longer_that_task():
    history = [
        *AFTER_GROCERIES,
        {"role": "user", "content": "delete it"},
        {
            "type": "function_call",
            "name": "delete_task",
            "call_id": "c2",
            "arguments": '{"task_number": 1}',
        },
        {
            "type": "function_call_output",
            "call_id": "c2",
            "output": "Deleted task #1 buy groceries [open]",
        },
    ]
    decision = decide_after("add milk to it", history)
    assert isinstance(decision, Reply) and "which task" in decision.text.lower()


def test_anything_else_gets_help():
    assert decide_after("what's the weather like") == Reply(HELP)


def test_recall_the_previous_question():
    assert decide_after("what did I just ask you?") == Reply(
        "You asked: “create a task to buy groceries”"
    )


def test_conversation_through_the_real_tools(settings):
    service = ChatService(settings)

    def say(text: str) -> str:
        return asyncio.run(service.turn(text)).reply

    say("create a task to buy groceries")
    say("remind me to pay rent")
    say("add call mom to my list")
    assert "#2 pay rent" in say("what tasks do I have?")
    say("I finished the groceries")
    assert "#1 buy groceries" in say("show my completed tasks")
    say("reopen task 1")
    say("rename task 1 to buy food")
    say("add milk to that task")
    say("remove the rent task")
    say("mark 3 as done")
    assert say("what did I just ask you?") == "You asked: “mark 3 as done”"
    tasks = {t.number: (t.title, t.notes, t.done) for t in service.tasks("all")}
    assert tasks == {1: ("buy food", "milk", False), 3: ("call mom", "", True)}


def test_that_task_resolves_from_reply_text_as_in_memory_rebuilt_from_the_log():
    history = [
        {"role": "user", "content": "remind me to pay rent"},
        {"role": "assistant", "content": "Added **#2 pay rent**."},
    ]
    assert decide_after("add due friday to that task", history) == ToolCall(
        "update_task", {"task_number": 2, "append_notes": "due friday"}
    )
    deleted = [
        *history,
        {"role": "user", "content": "delete it"},
        {"role": "assistant", "content": "Deleted **#2 pay rent**."},
    ]
    assert isinstance(decide_after("add due friday to that task", deleted), Reply)
