"""Agent memory is a cache of the durable log: move an unreadable file aside, drop corrupt
items before a turn, rebuild an emptied memory from the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from todochat.agent import memory_store
from todochat.agent.retry import retry_locked


def check_readable(db_path: str, session_id: str | None = None) -> bool:
    """True when the file is absent or a usable database (with this session's rows readable).

    Only "not a database" and "malformed" count as unreadable: a lock, a missing table or a
    permission problem is no reason to throw the file away.
    """
    if db_path == ":memory:" or not Path(db_path).exists():
        return True
    try:
        with closing(memory_store.connect(db_path, readonly=True)) as conn:
            memory_store.probe(conn, session_id)
        return True
    except sqlite3.OperationalError:
        return True
    except sqlite3.DatabaseError:
        return False


def move_aside(db_path: str) -> Path | None:
    """Rename the file (and its WAL and shared-memory files) to `<name>.corrupt-<UTC time>`.

    None when another process moved it first.
    """
    path = Path(db_path)
    target = _aside_name(path)
    try:
        path.rename(target)
    except FileNotFoundError:
        return None
    for suffix in ("-wal", "-shm"):
        side = Path(f"{db_path}{suffix}")
        if side.exists():
            side.rename(Path(f"{target}{suffix}"))
    return target


def _aside_name(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
    return target


def remove_corrupt_items(db_path: str, session_id: str) -> int:
    """Delete a session's corrupt rows before a turn: the SDK would hand `42` to the model."""
    if db_path == ":memory:" or not Path(db_path).exists():
        return 0

    def run() -> int:
        with closing(memory_store.connect(db_path)) as conn:
            return memory_store.remove_corrupt_items(conn, session_id)

    return retry_locked(run)


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
