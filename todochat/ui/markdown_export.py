"""An export as Markdown for people: a section per conversation, then the tasks.

The document is the versioned JSON one (`todochat.log.export`); this is one rendering of it,
made printable (stored and model text can never drive a terminal).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from todochat.ui.printable import printable


def export_markdown(document: dict[str, Any]) -> str:
    """The export as a Markdown document: a section per conversation, then the tasks."""
    out = [f"# todochat export ({_when(document['exported_at'])})", ""]
    for user in document["users"]:
        if len(document["users"]) > 1:
            out += [f"# {user['name']}", ""]
        for conversation in user["conversations"]:
            out += _conversation_lines(conversation)
        if user.get("tasks"):
            out += ["## Tasks", ""] + [_task_line(t) for t in user["tasks"]] + [""]
    return printable("\n".join(out).rstrip("\n") + "\n")


def conversation_markdown(conversation: dict[str, Any]) -> str:
    """One conversation (`id`, `title`, `messages` as in the export) as Markdown."""
    return printable("\n".join(_conversation_lines(conversation)).rstrip("\n") + "\n")


def _conversation_lines(conversation: dict[str, Any]) -> list[str]:
    title = conversation["title"] or "(untitled)"
    lines = [f"## {title} ({conversation['id'][:8]})", ""]
    for message in conversation["messages"]:
        who = "you" if message["role"] == "user" else "todochat"
        lines += [f"**{who}** · {_when(message['created_at'])}", "", message["content"], ""]
    return lines


def _task_line(task: dict[str, Any]) -> str:
    box = "x" if task.get("done") else " "
    notes = f": {task['notes']}".replace("\n", "; ") if task.get("notes") else ""
    return f"- [{box}] #{task['number']} {task['title']}{notes}"


def _when(stamp: str) -> str:
    """`2026-11-22 11:49 UTC` from an ISO time."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
