"""Helpers for tests on real agent-memory files: sessions, turns, ages and corrupt rows.

Rows are written the way the SDK's `SQLiteSession` writes them (same tables, JSON text), so
the tests exercise the same file the chat uses; raw SQL here only sets up what a test needs.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from todochat.memory import store as memory_store

# A file with SQLite's header and garbage after it: a damaged database, ours to move aside.
DAMAGED = b"SQLite format 3\x00" + b"\xff" * 8000


def new_file(path: Path) -> str:
    """An empty agent-memory file made the way the app makes one."""
    memory_store.create_file(str(path))
    return str(path)


def turn(n: int, tools: bool = True, reasoning: bool = False) -> list[dict[str, Any]]:
    """One turn as the SDK stores it: user, [reasoning], [tool call, output], assistant."""
    items: list[dict[str, Any]] = [{"role": "user", "content": f"turn {n}"}]
    if reasoning:
        items.append({"type": "reasoning", "id": f"rs_{n}", "summary": []})
    if tools:
        items.append(
            {"type": "function_call", "call_id": f"c{n}", "name": "add_task", "arguments": "{}"}
        )
        items.append({"type": "function_call_output", "call_id": f"c{n}", "output": "ok"})
    items.append(
        {
            "type": "message",
            "role": "assistant",
            "id": f"m{n}",
            "status": "completed",
            "content": [{"type": "output_text", "text": f"reply {n}", "annotations": []}],
        }
    )
    return items


def turns(count: int, start: int = 0, **kind: bool) -> list[dict[str, Any]]:
    return [item for n in range(start, start + count) for item in turn(n, **kind)]


def add_session(path: str, session_id: str, items: list[Any], updated: str | None = None) -> None:
    """Insert a session and its items; a `str` item is stored verbatim (for corrupt rows).

    `updated` is a SQLite time modifier such as '-8 days', applied to `updated_at`.
    """
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR IGNORE INTO agent_sessions (session_id) VALUES (?)", (session_id,))
        conn.executemany(
            "INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)",
            [(session_id, i if isinstance(i, str) else json.dumps(i)) for i in items],
        )
        conn.execute("COMMIT")
    if updated is not None:
        set_updated(path, session_id, updated)


def set_updated(path: str, session_id: str, modifier: str, now: str = "now") -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(
            "UPDATE agent_sessions SET updated_at = datetime(?, ?) WHERE session_id = ?",
            (now, modifier, session_id),
        )


def stored(path: str, session_id: str) -> list[str]:
    """The raw rows of one session, oldest first."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT message_data FROM agent_messages WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [data for (data,) in rows]


def items(path: str, session_id: str) -> list[dict[str, Any]]:
    return [json.loads(data) for data in stored(path, session_id)]


def session_ids(path: str) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {sid for (sid,) in conn.execute("SELECT session_id FROM agent_sessions")}


def scalar(path: str, sql: str, *args: Any) -> Any:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, args).fetchone()[0]


def fill_stale(path: str, sessions: int, items_per_session: int, age: str = "-30 days") -> None:
    """Many idle sessions at once (one transaction), for cleanup tests."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        for s in range(sessions):
            sid = f"stale_{s:05d}"
            conn.execute(
                "INSERT INTO agent_sessions (session_id, updated_at) "
                "VALUES (?, datetime('now', ?))",
                (sid, age),
            )
            conn.executemany(
                "INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)",
                [(sid, json.dumps(i)) for i in turns(items_per_session // 4, tools=True)],
            )
        conn.execute("COMMIT")


def memory_texts(chat) -> list[str]:
    """The texts of the messages in a chat's agent memory (tool calls and outputs left out)."""
    import asyncio

    texts = []
    for item in asyncio.run(chat.agent_session().get_items()):
        content = item.get("content")
        if content is not None:
            texts.append(content if isinstance(content, str) else content[0]["text"])
    return texts
