"""Answers to questions about the conversation itself, from the items the model receives."""

from __future__ import annotations

import re
from typing import Any

from todochat.agent.offline_memory import changes_so_far, text_of, user_texts
from todochat.agent.offline_replies import Reply

Items = list[dict[str, Any]]
FIRST_THING = "This is the first thing you've said in this conversation."


def _earlier(items: Items) -> list[str]:
    """What the user said before the message being answered."""
    return user_texts(items)[:-1]


def first_message(items: Items) -> Reply:
    earlier = _earlier(items)
    return Reply(f"You first said: “{earlier[0]}”" if earlier else FIRST_THING)


def previous_message(items: Items) -> Reply:
    earlier = _earlier(items)
    return Reply(f"You asked: “{earlier[-1]}”" if earlier else FIRST_THING)


def last_added(items: Items) -> Reply:
    for item in reversed(items):
        text = str(item.get("output", "")) if item.get("type") == "function_call_output" else ""
        if item.get("role") == "assistant":
            text = text_of(item).replace("*", "")
        added = re.findall(r"^Added (?:task )?(#\d+ .+?)(?: \[open\])?\.?$", text, re.MULTILINE)
        if added:
            return Reply(f"The last task you added was **{added[-1]}**.")
    return Reply("You haven't added a task in this conversation.")


def changes(items: Items) -> Reply:
    done = changes_so_far(items)
    if not done:
        return Reply("Nothing yet: we haven't changed your list in this conversation.")
    return Reply("So far in this conversation:\n" + "\n".join(f"- {line}" for line in done))
