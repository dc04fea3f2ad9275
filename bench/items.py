"""Agent-memory items in the shapes the SDK stores them, with realistic, varied sizes.

One turn is a user message, sometimes a reasoning item, a function_call, its
function_call_output, and the assistant's reply: what the offline model and the tools write.
"""

from __future__ import annotations

import json
import random
from typing import Any

WORDS = [
    "buy",
    "groceries",
    "milk",
    "bread",
    "call",
    "mom",
    "pay",
    "rent",
    "dentist",
    "appointment",
    "renew",
    "passport",
    "book",
    "flights",
    "team",
    "meeting",
    "notes",
    "review",
    "pull",
    "request",
    "water",
    "plants",
    "gym",
    "laundry",
    "clean",
    "kitchen",
    "birthday",
    "gift",
    "tax",
    "return",
    "insurance",
    "car",
    "service",
    "library",
    "books",
    "recycle",
    "email",
    "landlord",
    "project",
    "report",
    "budget",
    "plan",
    "weekend",
    "trip",
    "fix",
    "bike",
    "tyre",
    "order",
    "printer",
    "ink",
    "schedule",
]
TOOLS = ("add_task", "list_tasks", "update_task", "complete_task", "delete_task", "reopen_task")


def words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def new_id(rng: random.Random, prefix: str) -> str:
    return f"{prefix}_{rng.getrandbits(64):016x}"


def user_message(rng: random.Random) -> dict[str, Any]:
    return {"content": words(rng, 4, 30), "role": "user"}


def reasoning(rng: random.Random) -> dict[str, Any]:
    summary = [{"text": words(rng, 15, 80), "type": "summary_text"}]
    return {"id": new_id(rng, "rs"), "summary": summary, "type": "reasoning"}


def function_call(rng: random.Random, call_id: str) -> dict[str, Any]:
    arguments = {"title": words(rng, 2, 8)}
    if rng.random() < 0.4:
        arguments["notes"] = words(rng, 3, 20)
    return {
        "arguments": json.dumps(arguments),
        "call_id": call_id,
        "name": rng.choice(TOOLS),
        "type": "function_call",
        "id": new_id(rng, "fc"),
        "status": "completed",
    }


def function_call_output(rng: random.Random, call_id: str) -> dict[str, Any]:
    lines = [f"#{n} {words(rng, 2, 8)} [open]" for n in range(1, rng.randint(1, 12) + 1)]
    return {"call_id": call_id, "output": "\n".join(lines), "type": "function_call_output"}


def assistant_message(rng: random.Random) -> dict[str, Any]:
    content = [
        {"annotations": [], "text": words(rng, 5, 90), "type": "output_text", "logprobs": []}
    ]
    return {
        "id": new_id(rng, "msg"),
        "content": content,
        "role": "assistant",
        "status": "completed",
        "type": "message",
    }


def turn(rng: random.Random, with_reasoning: bool) -> list[dict[str, Any]]:
    call_id = new_id(rng, "call")
    items = [user_message(rng)]
    if with_reasoning:
        items.append(reasoning(rng))
    items += [function_call(rng, call_id), function_call_output(rng, call_id)]
    return [*items, assistant_message(rng)]


def turn_plan(rng: random.Random, item_count: int) -> list[bool]:
    """Which turns carry a reasoning item, so the turns add up to exactly `item_count` items."""
    feasible = range(-(-item_count // 5), item_count // 4 + 1)  # 4 to 5 items a turn
    if not feasible:
        raise ValueError(f"{item_count} items cannot be cut into turns of 4 or 5")
    turns = min(feasible, key=lambda t: abs(t - item_count / 4.45))
    with_reasoning = item_count - 4 * turns
    plan = [True] * with_reasoning + [False] * (turns - with_reasoning)
    rng.shuffle(plan)
    return plan
