"""The file itself: which path is usable, whether a file is ours, creating it 0600,
setting a damaged one aside, and connections with our schema and pragmas."""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import stat
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from todochat import private
from todochat.errors import MemoryStoreError
from todochat.memory.store.schema import (
    BUSY_TIMEOUT_MS,
    INDEXES,
    MEMORY_ONLY,
    MESSAGES,
    SCHEMA,
    SESSIONS,
    SQLITE_HEADER,
)
from todochat.memory.store.values import item_ok

private_paths: list[str] = []


def usable_path(configured: str) -> str:
    """The file to use for AGENT_SESSION_DB_PATH: `:memory:` is a file private to this process.

    A temporary file, removed at exit, behaves as the spec's in-memory database (lost on
    restart) while every code path stays the one for files.
    """
    if configured != MEMORY_ONLY:
        return configured
    if not private_paths:
        folder = tempfile.mkdtemp(prefix="todochat-memory-")
        atexit.register(shutil.rmtree, folder, True)
        private_paths.append(os.path.join(folder, "agent_sessions.db"))
    return private_paths[0]


# Files (device, inode) whose header this process has read. Closing any descriptor of a file
# drops every POSIX lock the process holds on it, SQLite's included: another process then
# takes itself for the last user, checkpoints and deletes the write-ahead log under our open
# connections, and the file is corrupted. So a header is read once per file and process,
# before SQLite opens it.
_sqlite_files: set[tuple[int, int]] = set()


def file_kind(db_path: str, *, fresh: bool = False) -> str:
    """`missing`, `empty`, `sqlite` (by its header: agent memory), `foreign` (another
    program's SQLite database), or `other` (not a database): the last two are not ours.

    `fresh` reads the header even of a file read before (only for a file being given up).
    """
    try:
        found = os.stat(db_path)
    except FileNotFoundError:
        return "missing"
    if not stat.S_ISREG(found.st_mode):
        return "other"
    if found.st_size == 0:
        return "empty"
    identity = (found.st_dev, found.st_ino)
    if identity in _sqlite_files and not fresh:
        return "sqlite"
    with open(db_path, "rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            _sqlite_files.discard(identity)  # overwritten in place
            return "other"
    if not _holds_agent_memory(db_path):
        return "foreign"
    _sqlite_files.add(identity)
    return "sqlite"


def _holds_agent_memory(db_path: str) -> bool:
    """Whether a SQLite file is agent memory: it has the SDK's tables, or no table at all.

    Another program's database (the app database itself, named by mistake) is not ours. A
    file too damaged to list its tables counts as ours: damaged memory, to be set aside.
    """
    uri = f"file:{quote(str(Path(db_path).absolute()))}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {name for (name,) in rows}
    except sqlite3.DatabaseError:
        return True
    return not tables or bool(tables & {SESSIONS, MESSAGES})


def existing_file(db_path: str) -> bool:
    """Whether there is a memory file to use (an empty one counts); False when absent.

    A file that is not a SQLite database is not ours: `MemoryStoreError`, file untouched.
    """
    kind = file_kind(db_path)
    if kind in ("other", "foreign"):
        what = "not a SQLite file" if kind == "other" else "a SQLite file of something else"
        raise MemoryStoreError(
            f"{db_path} is not an agent-memory database ({what}); it was left "
            "untouched: point AGENT_SESSION_DB_PATH at a new or existing memory file"
        )
    return kind != "missing"


def ensure_file(db_path: str) -> None:
    """Make sure `db_path` is an agent-memory database we may use, creating it if absent.

    An empty file (SQLite's own empty database) is adopted; a file that is not a SQLite
    database is refused (see `existing_file`), with nothing created beside it.
    """
    if not existing_file(db_path):
        create_file(db_path)
    elif file_kind(db_path) == "empty":
        os.chmod(db_path, 0o600)
        initialize_new_file(db_path)


def database_size(db_path: str) -> int:
    """Bytes on disk: the file plus its write-ahead log (0 for what does not exist)."""
    return file_size(db_path) + wal_size(db_path)


def wal_size(db_path: str) -> int:
    return file_size(f"{db_path}-wal")


def file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def create_file(db_path: str) -> None:
    """Create the file readable by its owner only, then give it our schema and settings."""
    if private.create_file(db_path):  # else another process made it a moment ago
        initialize_new_file(db_path)


def file_identity(db_path: str) -> tuple[int, int] | None:
    """(device, inode): a file moved aside and made anew is another file."""
    try:
        found = os.stat(db_path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def move_aside(db_path: str) -> Path | None:
    """Rename a damaged database (and its WAL and shared-memory files) to `<name>.corrupt-<UTC>`.

    Only a file with a SQLite header is ever moved: anything else is not ours. None when
    there was nothing to move (another process moved it first).
    """
    if file_kind(db_path, fresh=True) != "sqlite":
        existing_file(db_path)  # raises for a file that is not ours
        return None
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


def connect(
    db_path: str,
    *,
    readonly: bool = False,
    busy_seconds: float = BUSY_TIMEOUT_MS / 1000,
    any_thread: bool = False,
) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are explicit (`BEGIN IMMEDIATE`).

    It never creates the file (a missing file fails): new files come from `create_file`.
    `busy_seconds` is how long one statement waits for a lock held elsewhere. With
    `any_thread`, worker threads may use it in turn (the caller never overlaps them).
    """
    mode = "ro" if readonly else "rw"
    uri = f"file:{quote(str(Path(db_path).absolute()))}?mode={mode}"
    conn = sqlite3.connect(
        uri,
        uri=True,
        isolation_level=None,
        timeout=busy_seconds,
        check_same_thread=not any_thread,
    )
    conn.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
    # With WAL, NORMAL never corrupts the file and spares an fsync per commit, which keeps
    # each write lock short; at worst a power cut loses the last deletions of a cache.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.create_function("todochat_item_ok", 1, item_ok, deterministic=True)
    return conn


def initialize_new_file(db_path: str) -> None:
    """Give a new, empty file incremental auto-vacuum, WAL, the SDK schema and our indexes."""
    with closing(connect(db_path)) as conn:
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        ensure_schema(conn)
    identity = file_identity(db_path)
    if identity is not None:
        _sqlite_files.add(identity)  # ours now: its header need not be read


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the tables (if the SDK has not yet) and the spec's indexes; idempotent."""
    for statement in SCHEMA + INDEXES:
        conn.execute(statement)


def index_names(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {name for (name,) in rows}


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read-then-write transaction that takes the write lock up front."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
