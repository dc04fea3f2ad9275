"""Item values (the SDK's rows): decoding, cleaning, their kinds, SQLite's times."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


def decode_item(message_data: Any) -> dict[str, Any] | None:
    """The stored item, or None when it is corrupt (not JSON, no object, or unencodable)."""
    try:
        item = json.loads(message_data)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(item, dict):
        return None
    if isinstance(message_data, str) and "\\u" in message_data and not _encodable(item):
        return None
    return item


def _encodable(item: dict[str, Any]) -> bool:
    try:
        json.dumps(item, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


LONE_SURROGATE = re.compile("[\\ud800-\\udfff]")


def clean_text(text: str) -> str:
    """Text every store and every model request can carry: a lone surrogate becomes U+FFFD.

    (In a Python str a surrogate is always lone: it comes from a model's `"\\ud800"` or from
    undecodable input bytes.)
    """
    return LONE_SURROGATE.sub("\ufffd", text)


def clean_item(value: Any) -> Any:
    """`value` with every string cleaned, keys included."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k): clean_item(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_item(v) for v in value]
    return value


def item_ok(message_data: Any) -> bool:
    return decode_item(message_data) is not None


def is_turn_start(item: dict[str, Any] | None) -> bool:
    """A user message begins a turn; nothing that belongs to a turn may be cut from it."""
    return (
        item is not None and item.get("role") == "user" and item.get("type", "message") == "message"
    )


def item_kind(item: dict[str, Any] | None) -> str:
    """user, assistant, tool_call, tool_output, other, or corrupt_items."""
    if item is None:
        return "corrupt_items"
    kind = str(item.get("type", "message"))
    if kind == "message":
        return {"user": "user", "assistant": "assistant"}.get(item.get("role"), "other")
    if kind.endswith("_call_output"):
        return "tool_output"
    if kind.endswith("_call"):
        return "tool_call"
    return "other"


def parse_sqlite_time(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime; None when it cannot be read.

    The SDK writes `CURRENT_TIMESTAMP` text (UTC, whole seconds); a file can hold anything
    else too: ISO text with a `T`, a Unix time as a number, NULL, or garbage.
    """
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str) and value:
            moment = datetime.strptime(value[:19].replace("T", " "), "%Y-%m-%d %H:%M:%S")
            return moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def placeholders(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))
