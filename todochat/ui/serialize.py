"""Rows as JSON-ready dicts (ISO 8601 UTC times), and JSON text that cannot drive a terminal.

Every command's `--json` uses the same keys for the same things: a conversation is `id` and
`short_id` in itself, `conversation_id` and `conversation` (its short id) where something
refers to it; times are in ISO 8601 UTC ending in `Z`; `messages` is always a list of them
(their number is `message_count`).

Tasks and conversations are read column by column from the model, so a column added to the
schema appears in `--json` output and in exports without a change here.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from todochat.identity import short_id

if TYPE_CHECKING:
    from todochat.log.conversations import ConversationSummary

# Who owns a row is the context of a listing, not part of it; a clear's mark is an id of this
# database's log (an import places the clear by its time).
HIDDEN = {"user_id", "memory_reset_id"}


def iso(moment: datetime | None) -> str | None:
    """`2026-11-22T11:49:44.123456Z`: ISO 8601 in UTC."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def value(item: Any) -> Any:
    """One column value as JSON: times in UTC, dates and ids as strings."""
    if isinstance(item, datetime):
        return iso(item)
    if isinstance(item, date):
        return item.isoformat()
    if isinstance(item, uuid.UUID):
        return str(item)
    if isinstance(item, Enum):
        return item.value
    return item


def row_dict(row: Any, first: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every column of an ORM row but its owner, `first` leading."""
    names = [c.key for c in row.__table__.columns if c.key not in HIDDEN]
    ordered = [n for n in first if n in names] + [n for n in names if n not in first]
    return {name: value(getattr(row, name)) for name in ordered}


def task_dict(task: Any) -> dict[str, Any]:
    return row_dict(task, ("number", "title", "notes", "done"))


def message_dict(message: Any) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "created_at": iso(message.created_at),
    }


def summary_dict(summary: ConversationSummary) -> dict[str, Any]:
    """A conversation in a listing. The count is `message_count` (`messages` is the list
    of them, in `history --json` and exports: one key, one meaning, across commands)."""
    return {
        "id": str(summary.id),
        "short_id": summary.short_id,
        "title": summary.title,
        "message_count": summary.messages,
        "created_at": iso(summary.created_at),
        "updated_at": iso(summary.updated_at),
    }


def history_dict(
    conversation: Any, messages: list[Any], changes: dict[int, list[Any]] | None = None
) -> dict[str, Any]:
    """A conversation and its messages; under each, the task changes shown with it."""
    return {
        "id": str(conversation.id),
        "short_id": short_id(conversation.id),
        "title": conversation.title,
        "messages": [
            {**message_dict(m), "changes": [c.as_json() for c in (changes or {}).get(m.id, [])]}
            for m in messages
        ],
    }


_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")


def to_json(data: Any) -> str:
    """Indented JSON, readable Unicode, every control character escaped (C0 by json; DEL and
    C1, which a terminal would obey, here)."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
