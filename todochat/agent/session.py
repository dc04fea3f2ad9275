"""Agent memory for one conversation: the SDK's `SQLiteSession` on a persistent file."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from agents import SQLiteSession


SESSION_ID = re.compile(r"user_([0-9a-f-]{36})_conv_([0-9a-f-]{36})")


def get_session_id(user_id: UUID | str, conversation_id: UUID | str) -> str:
    """`user_{uuid}_conv_{uuid}`: one session per user and conversation, never shared."""
    return f"user_{UUID(str(user_id))}_conv_{UUID(str(conversation_id))}"


def parse_session_id(session_id: str) -> tuple[UUID, UUID] | None:
    """(user id, conversation id) of one of our session ids; None for a foreign id."""
    match = SESSION_ID.fullmatch(session_id)
    if match is None:
        return None
    try:
        return UUID(match[1]), UUID(match[2])
    except ValueError:
        return None


def user_prefix(user_id: UUID | str) -> str:
    """The start every session id of this user shares."""
    zero = UUID(int=0)
    return get_session_id(user_id, zero).removesuffix(str(zero))


def prepare_memory_file(db_path: str) -> None:
    """Create the file's directory and the file itself, readable by its owner only."""
    if db_path == ":memory:":
        return
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        from todochat.agent import memory_store

        memory_store.initialize_new_file(db_path)


# Files (by device and inode, so a file moved aside and made anew counts as new) whose WAL
# mode and schema a session of this process has already set up.
_prepared: set[tuple[int, int]] = set()
_prepared_lock = threading.Lock()


def _file_key(db_path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(db_path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


_scan_json = json.JSONDecoder().scan_once


def decode_stored_items(rows) -> list:
    """`json.loads` of each `(message_data,)` row, skipping invalid JSON as the SDK does.

    The C scanner is called directly (about half the cost of `json.loads` per 1 KB item);
    anything it does not consume whole goes through `json.loads` itself, so results and
    skipped rows are exactly the SDK's.
    """
    items = []
    for (data,) in rows:
        try:
            item, end = _scan_json(data, 0)
            if end == len(data):
                items.append(item)
                continue
        except Exception:  # noqa: BLE001 - json.loads below decides, as in the SDK
            pass
        try:
            items.append(json.loads(data))
        except (json.JSONDecodeError, TypeError):
            continue
    return items


@cache
def _session_class() -> type[SQLiteSession]:
    """The SDK's `SQLiteSession`, minus set-up work already done for this file.

    The SDK (pinned below 0.25 in pyproject.toml) opens a connection in every constructor to
    set WAL mode and run `CREATE TABLE/INDEX IF NOT EXISTS`, and sets WAL again on every new
    connection. Both are persistent properties of the file, so once a session of this process
    has done them for a file, later sessions skip them. `get_items` (with a positive limit)
    decodes rows with half the overhead. `_configure_connection`, `_init_db_for_connection`
    and `_locked_connection` are the SDK's own internals (read from its source, not a
    documented API): revisit them when the pin moves. Writes and threading are the SDK's.
    """
    from agents import SQLiteSession
    from agents.memory.session_settings import resolve_session_limit

    class TodoSQLiteSession(SQLiteSession):
        def __init__(self, *args, **kwargs) -> None:
            self._key: tuple[int, int] | None = None
            db_path = kwargs.get("db_path", args[1] if len(args) > 1 else ":memory:")
            if str(db_path) != ":memory:":
                self._key = _file_key(str(db_path))
            super().__init__(*args, **kwargs)
            if self._key is not None:
                with _prepared_lock:
                    _prepared.add(self._key)

        def _is_prepared(self) -> bool:
            return self._key is not None and self._key in _prepared

        def _configure_connection(self, conn) -> None:  # an instance method here, on purpose
            if not self._is_prepared():
                SQLiteSession._configure_connection(conn)
            # As on every connection of ours (memory_store.connect): in WAL mode NORMAL
            # never corrupts the file and spares an fsync per commit; a power cut may lose
            # the last items of a cache whose durable record is the app database's log.
            conn.execute("PRAGMA synchronous=NORMAL")

        def _init_db_for_connection(self, conn) -> None:
            if not self._is_prepared():
                super()._init_db_for_connection(conn)

        async def get_items(self, limit: int | None = None) -> list:
            """The SDK's `get_items` for a positive limit (the chat's case), decoded faster.

            Same query, same window doubling past corrupt rows, same thread and lock.
            """
            session_limit = resolve_session_limit(limit, self.session_settings)
            if session_limit is None or session_limit <= 0:
                return await super().get_items(limit)

            def read() -> list:
                with self._locked_connection() as conn:
                    window = session_limit
                    while True:
                        rows = conn.execute(
                            f"SELECT message_data FROM {self.messages_table} "
                            "WHERE session_id = ? ORDER BY id DESC LIMIT ?",
                            (self.session_id, window),
                        ).fetchall()
                        items = decode_stored_items(reversed(rows))
                        if len(items) >= session_limit:
                            return items[-session_limit:]
                        if len(rows) < window:
                            return items
                        window *= 2

            return await asyncio.to_thread(read)

    return TodoSQLiteSession


def get_agent_session(
    user_id: UUID | str,
    conversation_id: UUID | str,
    db_path: str | None = None,
    max_messages: int | None = None,
) -> SQLiteSession:
    """The SDK session for this user's conversation; the same ids give the same history.

    An `agents.SQLiteSession` (a subclass that skips repeating the file's set-up).
    """
    from agents.memory import SessionSettings

    from todochat.config import get_settings

    if db_path is None or max_messages is None:
        settings = get_settings()
        db_path = db_path or settings.agent_session_db_path
        max_messages = max_messages or settings.agent_session_max_messages
    if _file_key(str(db_path)) not in _prepared:
        prepare_memory_file(str(db_path))
    return _session_class()(
        get_session_id(user_id, conversation_id),
        db_path=str(db_path),
        session_settings=SessionSettings(limit=max_messages),
    )
