"""Agent memory is a cache of the durable log: move an unreadable file aside, rebuild from the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from todochat.agent import memory_store


def check_readable(db_path: str) -> bool:
    """True when the file is absent or a usable SQLite database with readable tables."""
    if db_path == ":memory:" or not Path(db_path).exists():
        return True
    try:
        with closing(memory_store.connect(db_path)) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.execute(f"SELECT 1 FROM {memory_store.MESSAGES} LIMIT 1").fetchall()
        return True
    except sqlite3.OperationalError as exc:
        return "no such table" in str(exc)
    except sqlite3.DatabaseError:
        return False


def move_aside(db_path: str) -> Path:
    """Rename the file (and its WAL and shared-memory files) to `<name>.corrupt-<UTC time>`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(db_path)
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = Path(f"{db_path}{suffix}")
        if side.exists():
            side.rename(Path(f"{target}{suffix}"))
    return target


def items_from_log(messages: Sequence[Any], max_items: int) -> list[dict[str, Any]]:
    """Agent-memory items for the newest whole turns of the log that fit within `max_items`."""
    turns: list[list[dict[str, Any]]] = []
    for message in messages:
        if message.role == "user":
            turns.append([{"role": "user", "content": message.content}])
        elif turns:
            turns[-1].append(_assistant_item(message.content))
    kept: list[list[dict[str, Any]]] = []
    size = 0
    for turn in reversed(turns):
        if size + len(turn) > max_items:
            break
        kept.append(turn)
        size += len(turn)
    return [item for turn in reversed(kept) for item in turn]


def _assistant_item(text: str) -> dict[str, Any]:
    # The easy-input form is accepted by both the Responses and Chat Completions paths.
    return {"role": "assistant", "content": text}
