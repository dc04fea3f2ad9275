"""The offline model's labelled corpus (tests/data/offline_corpus.json), run and scored.

Each case is decided exactly as the model would decide it in a chat: the scenario's
conversation as session items, the instructions listing its open tasks, the tool schema of
the run. Shared by the corpus test and benchmark case 9.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "offline_corpus.json"

# The tools as the agent offered them before due dates and undo, and as the shared contract
# has them after: the offline model must do right with either.
TODAY = {
    "add_task": {"title", "notes"},
    "list_tasks": {"status"},
    "update_task": {"task_number", "title", "notes", "append_notes"},
    "complete_task": {"task_number"},
    "reopen_task": {"task_number"},
    "delete_task": {"task_number"},
}
CONTRACT = {
    **TODAY,
    "add_task": {"title", "notes", "due", "priority"},
    "list_tasks": {"status", "due", "search", "page"},
    "update_task": {
        *TODAY["update_task"],
        *("due", "clear_due", "priority"),
    },
    "undo_last_change": set(),
}
# Named lists (issue 19): the list a task goes on, and a listing's filter by list.
LISTS = {
    **CONTRACT,
    "add_task": {*CONTRACT["add_task"], "list_name"},
    "list_tasks": {*CONTRACT["list_tasks"], "list_name"},
    "update_task": {*CONTRACT["update_task"], "list_name"},
}
SCHEMAS = {"today": TODAY, "contract": CONTRACT, "lists": LISTS}


@dataclass(frozen=True)
class Case:
    scenario: str
    message: str
    expected: Any


@dataclass(frozen=True)
class Outcome:
    case: Case
    got: Any
    correct: bool
    wrong_actions: int
    seconds: float


@cache
def load() -> tuple[dict[str, Any], list[Case]]:
    data = json.loads(CORPUS.read_text())
    return data["scenarios"], [Case(*row) for row in data["cases"]]


def instructions(scenario: dict[str, Any]) -> str:
    """As the agent builds them: the open tasks only (done ones are seen only in history)."""
    from todochat.agent.todo_agent import INSTRUCTIONS

    listing = [t for t in scenario["tasks"] if " [open]" in t]
    return f"{INSTRUCTIONS}\n\nThe user's open tasks:\n" + ("\n".join(listing) or "(none)")


def items(scenario: dict[str, Any], message: str) -> list[dict[str, Any]]:
    """The session items a live chat would hold: each tool call, its output and the reply."""
    from todochat.agent.offline_replies import summarize_tool_output

    built: list[dict[str, Any]] = []
    for n, entry in enumerate(scenario["history"]):
        if entry[0] == "call":
            _, name, arguments, output = entry
            built += [
                {
                    "type": "function_call",
                    "name": name,
                    "call_id": f"c{n}",
                    "arguments": json.dumps(arguments),
                },
                {"type": "function_call_output", "call_id": f"c{n}", "output": output},
                {"role": "assistant", "content": summarize_tool_output(name, output)},
            ]
        else:
            built.append({"role": entry[0], "content": entry[1]})
    return [*built, {"role": "user", "content": message}]


def as_expected(decision: Any) -> Any:
    """A decision in the corpus's own terms: calls, or the kind of reply."""
    from todochat.agent.offline_replies import Reply

    if isinstance(decision, Reply):
        return {"ask": "asks", "help": "help"}.get(decision.kind, {"answer": decision.text})
    return [[call.name, call.arguments] for call in decision]


def judge(case: Case, got: Any) -> tuple[bool, int]:
    """Exact match, and how many data-changing calls were made that the case did not expect."""
    from todochat.agent.offline_replies import CHANGES

    expected_calls = case.expected if isinstance(case.expected, list) else []
    wrong = sum(
        1
        for call in (got if isinstance(got, list) else [])
        if call[0] in CHANGES and call not in expected_calls
    )
    if isinstance(case.expected, dict):
        correct = isinstance(got, dict) and case.expected["answer"] in got["answer"]
    else:
        correct = got == case.expected
    return correct, wrong


@cache
def _prepared() -> dict[str, str]:
    """Each scenario's instructions, with the grammar compiled once before any timing."""
    from todochat.agent.offline_intents import decide

    decide("warm up", [{"role": "user", "content": "warm up"}], "", CONTRACT)
    return {name: instructions(s) for name, s in load()[0].items()}


def run(cases: list[Case] | None = None) -> list[Outcome]:
    from todochat.agent.offline_intents import decide

    scenarios, all_cases = load()
    prepared = _prepared()
    outcomes = []
    for case in cases or all_cases:
        scenario = scenarios[case.scenario]
        conversation = items(scenario, case.message)
        start = time.perf_counter()
        decision = decide(
            case.message, conversation, prepared[case.scenario], SCHEMAS[scenario["tools"]]
        )
        seconds = time.perf_counter() - start
        got = as_expected(decision)
        outcomes.append(Outcome(case, got, *judge(case, got), seconds))
    return outcomes
