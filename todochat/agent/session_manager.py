"""SessionManager: measure, prune, clear and expire agent memory (the spec's Common Tasks)."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from todochat.agent import memory_store
from todochat.agent.retry import retry_locked
from todochat.config import Settings


class SessionManager:
    """Administration of one agent-memory file. Read-only methods never create the file."""

    def __init__(self, db_path: str, max_messages: int = 200, retention_days: int = 7):
        self.db_path = str(db_path)
        self.max_messages = max_messages
        self.retention_days = retention_days

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionManager:
        return cls(
            settings.agent_session_db_path,
            settings.agent_session_max_messages,
            settings.agent_session_retention_days,
        )

    @property
    def exists(self) -> bool:
        return self.db_path != ":memory:" and Path(self.db_path).exists()

    def _read(self, operation, empty):
        """Run a read on the file, or return `empty` when there is no file (or no tables yet)."""
        if not self.exists:
            return empty

        def run():
            with closing(memory_store.connect(self.db_path, readonly=True)) as conn:
                try:
                    return operation(conn)
                except sqlite3.OperationalError as exc:
                    if "no such table" in str(exc):
                        return empty
                    raise

        return retry_locked(run)

    def _write(self, operation, empty):
        if not self.exists:
            return empty

        def run():
            with closing(memory_store.connect(self.db_path)) as conn:
                memory_store.ensure_schema(conn)
                return operation(conn)

        return retry_locked(run)

    async def get_session_stats(self, session_id: str) -> dict[str, Any]:
        """Counts, times and size of one session; an unknown session is all zeros and None."""
        return await asyncio.to_thread(
            self._read,
            lambda c: memory_store.session_stats(c, session_id),
            memory_store.empty_session_stats(),
        )

    async def prune_session_messages(self, session_id: str) -> int:
        """Trim to the newest `max_messages` items at a turn start; the number deleted."""
        return await asyncio.to_thread(
            self._write, lambda c: memory_store.prune_session(c, session_id, self.max_messages), 0
        )

    async def clear_session(self, session_id: str) -> None:
        """Delete the session's items and its row (emergency recovery: a fresh start)."""
        await asyncio.to_thread(
            self._write, lambda c: memory_store.delete_session(c, session_id), 0
        )

    async def cleanup_inactive_sessions(self) -> int:
        """Delete sessions idle for longer than `retention_days`; the number deleted."""
        result = await asyncio.to_thread(
            self._write, lambda c: memory_store.expire_sessions(c, self.retention_days), None
        )
        return result.sessions if result is not None else 0

    async def get_active_session_count(self) -> int:
        return await asyncio.to_thread(
            self._read, lambda c: memory_store.active_session_count(c, self.retention_days), 0
        )

    async def get_average_messages_per_session(self) -> float:
        return await asyncio.to_thread(self._read, memory_store.average_items_per_session, 0.0)

    def database_size(self) -> int:
        """Bytes on disk: the file plus its write-ahead log."""
        return sum(
            Path(p).stat().st_size
            for p in (self.db_path, f"{self.db_path}-wal")
            if self.db_path != ":memory:" and Path(p).exists()
        )


def parse_sqlite_time(value: str | None) -> datetime | None:
    """SQLite's `CURRENT_TIMESTAMP` text (UTC, whole seconds) as an aware datetime."""
    if not value:
        return None
    return datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
