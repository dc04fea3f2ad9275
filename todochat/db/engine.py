"""Engine, schema creation and sessions for the app database."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from todochat import private
from todochat.config import hide_password
from todochat.db.migrations import migrate
from todochat.errors import AppDatabaseError, CommitUnknownError

T = TypeVar("T")


class Database:
    """One app database: an engine, its session factory, and the schema created on first use."""

    def __init__(self, url: str):
        self.url = url
        try:
            self.engine = _make_engine(url)
        except OSError as exc:
            raise AppDatabaseError(f"cannot create the app database file: {exc}") from None
        except (ArgumentError, ValueError):  # its text may quote the password
            raise AppDatabaseError(f"not a database URL: {hide_password(url)!r}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._schema_ready = False

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
            with self._sessions.begin() as db:
                yield db
        except DBAPIError as exc:
            raise AppDatabaseError(f"app database error: {_first_line(exc)}") from None

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads of one statement each, outside a transaction.

        What the instructions read on every model call: on PostgreSQL a transaction would
        add a BEGIN and a COMMIT, two more round trips to the server, for one statement that
        is consistent on its own. Failures read as in `session`.
        """
        self.ensure_schema()
        try:
            with self.engine.connect() as conn:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError as exc:
            raise AppDatabaseError(f"app database error: {_first_line(exc)}") from None

    def write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction, once more if the server dropped the connection first.

        A restarted server (or `pg_terminate_backend`, an idle timeout) leaves dead pooled
        connections; the first statement on one fails and the pool is invalidated. Nothing was
        committed then, so running the work again on a fresh connection cannot double it. A
        connection lost during COMMIT is not retried: that transaction may have gone through.
        """
        self.ensure_schema()
        for attempt in (1, 2):
            committing = False
            try:
                with self._sessions() as db, db.begin():
                    result = work(db)
                    committing = True
                return result
            except DBAPIError as exc:
                if attempt == 1 and exc.connection_invalidated and not committing:
                    continue
                if committing and exc.connection_invalidated:
                    raise CommitUnknownError(
                        f"app database connection lost while committing: {_first_line(exc)}"
                    ) from None
                raise AppDatabaseError(f"app database error: {_first_line(exc)}") from None
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # 20 kept, 30 at most: the turns holding their lock (`turn_locks.TURNS_AT_ONCE`)
        # with one more each, and a server's reads beside them. Kept, not opened and closed
        # again: a connection beyond `pool_size` is closed when given back, and a busy
        # server opened one (a connect, its settings) for nearly every request.
        engine = create_engine(
            url, pool_size=20, max_overflow=10, connect_args={"connect_timeout": 5}
        )
        event.listen(engine, "connect", _utc_session)
        event.listen(engine, "checkin", _mark_idle)
        event.listen(engine, "checkout", _ping_if_idle)
        return engine
    if parsed.database and parsed.database != ":memory:":
        # Created owner-only before SQLite opens it: SQLite gives its -wal and -shm files
        # the database file's mode.
        private.create_file(Path(parsed.database))
    engine = create_engine(url, connect_args={"timeout": 15})
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _utc_session(dbapi_connection, _record) -> None:
    """Server sessions in UTC (once a connection): times are read as UTC anyway, and a zone
    east of a stored moment names a year the driver cannot load (9999-12-31 23:00 UTC is
    10000 in Paris). The server's default zone (initdb takes the host's), PGTZ or `options`
    could set another."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # a setting of the session, outside any transaction
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.autocommit = autocommit


# A pooled server connection idle longer than this is pinged before use (a restarted or
# timed-out server dropped it). `pool_pre_ping` pings on every checkout: a round trip more
# for each of a turn's transactions, for connections used milliseconds before.
PING_AFTER_IDLE_SECONDS = 30.0


def _mark_idle(_dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()  # no transaction left open by the ping
    except Exception as exc:  # the driver's own error: the connection is gone
        # The pool discards this connection and checks out (or opens) another.
        raise DisconnectionError(f"stale pooled connection: {exc}") from exc


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
