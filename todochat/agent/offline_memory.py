"""What the offline model reads from the conversation items it receives.

The items are the session's memory plus the new message: tool calls and their outputs in a
live session, or only user and assistant text when memory was rebuilt from the log. Every
function here works from either, so "it", "what did I say first?" and "what have we done?"
resolve exactly as a network model would resolve them.
"""

from __future__ import annotations

import json
import re
from typing import Any

Item = dict[str, Any]

TASK_LINE = re.compile(r"#(\d+) (.+?) \[(open|done)\]")
TASK_MENTION = re.compile(r"#(\d+)")
CHANGE_VERBS = (
    "Added",
    "Updated",
    "Completed",
    "Reopened",
    "Deleted",
    "Undid",
    "Undone",
    "Restored",
    "Reverted",
)


def text_of(item: Item) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def user_texts(items: list[Item]) -> list[str]:
    return [text_of(i) for i in items if i.get("role") == "user"]


def assistant_texts(items: list[Item]) -> list[str]:
    return [text_of(i).replace("*", "") for i in items if i.get("role") == "assistant"]


def known_tasks(items: list[Item], instructions: str | None) -> dict[int, str]:
    """Number -> title of every task the model can see: the open tasks the instructions
    list, then any other task a tool output named (a listing of done tasks), minus deletions."""
    found: dict[int, str] = {}
    for item in items:
        if item.get("type") == "function_call_output":
            for number, title, _status in TASK_LINE.findall(str(item.get("output", ""))):
                found[int(number)] = title
    for number in _deleted(items):
        found.pop(number, None)
    for line in (instructions or "").splitlines():
        match = TASK_LINE.match(line.strip())
        if match and match.group(3) == "open":
            found[int(match.group(1))] = match.group(2)
    return found


def listing_cut(instructions: str | None) -> bool:
    """Whether the instructions list only some of the open tasks (the rest via list_tasks)."""
    return "call list_tasks to see them" in (instructions or "")


NEXT_PAGE = re.compile(r"call list_tasks with page=(\d+)")


def last_listing(items: list[Item]) -> tuple[dict[str, Any], int | None] | None:
    """The arguments of the conversation's last `list_tasks` call that has its output, and
    the page after the one it showed (None when it showed the last); None without one."""
    calls = {}
    for item in items:
        if item.get("type") == "function_call" and item.get("name") == "list_tasks":
            try:
                calls[item.get("call_id")] = dict(json.loads(item.get("arguments") or "{}"))
            except (ValueError, TypeError):
                continue
    for item in reversed(items):
        if item.get("type") == "function_call_output" and item.get("call_id") in calls:
            following = NEXT_PAGE.search(str(item.get("output", "")))
            return calls[item["call_id"]], int(following.group(1)) if following else None
    return None


def _deleted(items: list[Item]) -> set[int]:
    return {n for n in (_deleted_in_item(i) for i in items) if n is not None}


def last_task_spoken_of(items: list[Item]) -> int | None:
    """The task the conversation last named (a tool result, a tool call, the user's words, or
    what `/undo` restored); None when the last one named is gone since (deleted, or its adding
    undone): "it" then means nothing, never the task before it."""
    deleted: set[int] = set()
    for item in reversed(items):
        restored = _restored_in_item(item)
        if restored is not None and restored not in deleted:
            return restored
        gone = _deleted_in_item(item)
        if gone is not None:
            deleted.add(gone)
            continue
        number = _task_in_item(item)
        if number is not None:
            return None if number in deleted else number
    return None


def _change_text(item: Item) -> str:
    if item.get("type") == "function_call_output":
        return str(item.get("output", ""))
    if item.get("role") == "assistant":
        return text_of(item).replace("*", "")
    return ""


def _deleted_in_item(item: Item) -> int | None:
    text = _change_text(item)
    match = re.match(r"(?:Deleted (?:task )?|Undone: added )#(\d+)", text)
    return int(match.group(1)) if match else None


def _restored_in_item(item: Item) -> int | None:
    """The task an undo brought back or reverted ("Undone: deleted #4 ..."), which "it" means."""
    match = re.match(r"Undone: (?!added )\w+ #(\d+)", _change_text(item))
    return int(match.group(1)) if match else None


def _task_in_item(item: Item) -> int | None:
    if item.get("type") == "function_call_output":
        output = str(item.get("output", ""))
        if output.startswith("Error"):
            return None
        mentions = TASK_MENTION.findall(output)
        return int(mentions[0]) if len(set(mentions)) == 1 else None
    if item.get("type") == "function_call":
        try:
            number = json.loads(item.get("arguments") or "{}").get("task_number")
        except (ValueError, AttributeError):
            return None
        return int(number) if isinstance(number, int) else None
    if item.get("role") == "assistant":
        # Memory rebuilt from the log holds replies as text, which name the task they touched.
        mentions = set(TASK_MENTION.findall(text_of(item)))
        return int(mentions.pop()) if len(mentions) == 1 else None
    if item.get("role") == "user":
        mentions = re.findall(r"(?:task\s*|#|number\s*)(\d+)", text_of(item).lower())
        return int(mentions[-1]) if mentions else None
    return None


def changes_so_far(items: list[Item]) -> list[str]:
    """The replies that reported a change to the list, oldest first: each names its task."""
    lines = []
    for text in assistant_texts(items):
        lines += [line for line in text.splitlines() if line.startswith(CHANGE_VERBS)]
    return lines


def last_question(items: list[Item]) -> str:
    """The assistant's previous reply, when the new message may be an answer to it."""
    texts = assistant_texts(items)
    return texts[-1] if texts else ""
