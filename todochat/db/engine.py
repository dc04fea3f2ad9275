"""Engine, schema creation and sessions for the app database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from todochat.db.migrations import migrate
from todochat.errors import AppDatabaseError


class Database:
    """One app database: an engine, its session factory, and the schema created on first use."""

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = _make_engine(url)
        except OSError as exc:
            raise AppDatabaseError(f"cannot create the app database file: {exc}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._schema_ready = False

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def ensure_schema(self) -> None:
        """Apply pending migrations once per process; safe with many processes at once."""
        if self._schema_ready:
            return
        try:
            with self.engine.begin() as conn:
                migrate(conn)
        except DBAPIError as exc:
            raise AppDatabaseError(f"cannot open the app database: {_first_line(exc)}") from None
        self._schema_ready = True

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any exception.

        A database failure (server gone, file read-only, disk full) becomes one
        `AppDatabaseError` line instead of a driver traceback.
        """
        self.ensure_schema()
        try:
            with self._sessions.begin() as session:
                yield session
        except DBAPIError as exc:
            raise AppDatabaseError(f"app database error: {_first_line(exc)}") from None

    def dispose(self) -> None:
        self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    if parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.touch(mode=0o600)
    engine = create_engine(url, connect_args={"timeout": 15})
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection, _record) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the REPL read while cron writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_open: dict[str, Database] = {}


def open_database(url: str) -> Database:
    """The process-wide `Database` for `url` (one engine and pool per URL)."""
    if url not in _open:
        _open[url] = Database(url)
    return _open[url]


def close_all() -> None:
    for database in _open.values():
        database.dispose()
    _open.clear()


# Keep a forked child (pexpect, multiprocessing) from reusing the parent's pooled connections.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        after_in_child=lambda: [d.engine.dispose(close=False) for d in _open.values()]
    )
