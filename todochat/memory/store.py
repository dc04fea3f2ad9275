"""All SQL on the agent-memory file (the SDK's `agent_sessions` and `agent_messages` tables).

The SDK owns the schema; we add indexes, pruning, statistics, repair and expiry. SQLite leaves
foreign keys off, so `ON DELETE CASCADE` never fires: messages and their session row are deleted
together, explicitly. `CURRENT_TIMESTAMP` is UTC text with one-second resolution, so times are
compared in SQL and rows are ordered by id. Every read-then-write takes `BEGIN IMMEDIATE`.

The file is ours only if it is a SQLite database (or empty, or absent): `ensure_file` refuses
anything else, and no connection of ours creates a file implicitly (`mode=rw`), so a new
memory file is always made by `create_file`, readable by its owner only.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from todochat import private
from todochat.errors import MemoryStoreError

SESSIONS = "agent_sessions"
MESSAGES = "agent_messages"

# Figures too costly to measure on every `sessions stats` (the corrupt-item count reads every
# row: seconds on a large file) are recorded by the scans that read every row anyway, with the
# time the scan started, and shown "as of" that time. Our table, not the SDK's.
MEASUREMENTS = "todochat_measurements"
MEASUREMENTS_SCHEMA = f"""CREATE TABLE IF NOT EXISTS {MEASUREMENTS} (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    measured_at TEXT NOT NULL
)"""

# Every `todochat cleanup` (dry runs aside) records itself: a row at its start, completed at
# its end, so a run killed midway stays an attempt without an end. Times are Unix seconds.
CLEANUP_RUNS = "todochat_cleanup_runs"
CLEANUP_RUNS_KEPT = 100
CLEANUP_RUNS_SCHEMA = f"""CREATE TABLE IF NOT EXISTS {CLEANUP_RUNS} (
    id INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    outcome TEXT,
    error TEXT,
    sessions INTEGER,
    items INTEGER,
    orphan_items INTEGER,
    bytes_freed INTEGER
)"""
# What each chat turn measured (seconds), written inside its prune's transaction: a ring of
# the newest turns. Lifetime totals (for a Prometheus summary's _count and _sum) are
# measurements named in TURN_TOTALS.
TURN_TIMINGS = "todochat_turn_timings"
TURN_TIMINGS_KEPT = 1000
TURN_TIMINGS_SCHEMA = f"""CREATE TABLE IF NOT EXISTS {TURN_TIMINGS} (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    retrieval_seconds REAL NOT NULL,
    outside_model_seconds REAL NOT NULL
)"""
TURN_TOTALS = ("turns_timed", "retrieval_microseconds", "outside_model_microseconds")

# Same DDL as the SDK's SQLiteSession, so either side may create the file first.
SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {SESSIONS} (
        session_id TEXT PRIMARY KEY,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    )""",
    f"""CREATE TABLE IF NOT EXISTS {MESSAGES} (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        message_data TEXT NOT NULL,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        FOREIGN KEY (session_id) REFERENCES {SESSIONS} (session_id)
            ON DELETE CASCADE
    )""",
    f"CREATE INDEX IF NOT EXISTS idx_{MESSAGES}_session_id ON {MESSAGES} (session_id, id)",
)
# Our table, not the SDK's: per session, the newest reply of the durable log that memory
# holds (`message_id`) and the log's reset mark that memory reflects (`reset_at`, ISO text).
# Created on a turn's first use of a file, so files made by earlier versions get it too.
WATERMARKS = "todochat_watermarks"
WATERMARKS_SCHEMA = f"""CREATE TABLE IF NOT EXISTS {WATERMARKS} (
    session_id TEXT PRIMARY KEY,
    message_id INTEGER NOT NULL,
    reset_at TEXT,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)"""

# The spec's indexes (Index Optimization), and our own tables.
INDEXES = (
    f"CREATE INDEX IF NOT EXISTS ix_agent_sessions_updated ON {SESSIONS}(updated_at)",
    f"CREATE INDEX IF NOT EXISTS ix_agent_messages_session_created "
    f"ON {MESSAGES}(session_id, created_at)",
    MEASUREMENTS_SCHEMA,
    CLEANUP_RUNS_SCHEMA,
    TURN_TIMINGS_SCHEMA,
    WATERMARKS_SCHEMA,
)

BUSY_TIMEOUT_MS = 5000
MEMORY_ONLY = ":memory:"
SQLITE_HEADER = b"SQLite format 3\x00"

# A row is corrupt when it is not JSON, is JSON but no object (`42`, `"x"`, `[]`), or holds
# a lone surrogate (`"\\ud800"`, which a model can send as JSON and no UTF-8 request can carry):
# the SDK skips the first kind but hands the others to the model, and the last breaks every
# later turn. SQLite's JSON functions decide the common case at C speed; Python's own decoder
# (the SDK's) has the last word on the rest, and on any row with a `\\u d...` escape.
SURROGATE_FREE = "instr(message_data, '\\ud') = 0 AND instr(message_data, '\\uD') = 0"
CORRUPT = (
    f"(CASE WHEN json_valid(message_data) AND {SURROGATE_FREE} "
    "THEN json_type(message_data) <> 'object' ELSE NOT todochat_item_ok(message_data) END)"
)
# A session idle since before `datetime(now, '-N days')`; `now` is 'now' outside tests. Only a
# well-formed text time can be stale: an integer, NULL or unparsable value is never expired
# here (`normalize_times` rewrites those first, so the next cleanup judges them).
STALE = (
    "updated_at < datetime(?, ?) AND typeof(updated_at) = 'text' "
    "AND datetime(updated_at) IS NOT NULL"
)
# `updated_at` values the SDK never writes: not canonical UTC text, or in the future.
ODD_TIME = (
    "updated_at IS NULL OR typeof(updated_at) <> 'text' OR datetime(updated_at) IS NULL "
    "OR datetime(updated_at) <> updated_at OR updated_at > datetime(?)"
)
# A message whose session row is gone.
ORPHAN = f"NOT EXISTS (SELECT 1 FROM {SESSIONS} s WHERE s.session_id = {MESSAGES}.session_id)"
# The distinct session ids of the messages, found by one index seek each (a "loose index
# scan"): 10,000 seeks instead of reading 2,000,000 index entries.
MESSAGE_SESSION_IDS = f"""WITH RECURSIVE ids(sid) AS (
    SELECT (SELECT min(session_id) FROM {MESSAGES})
    UNION ALL
    SELECT (SELECT session_id FROM {MESSAGES} WHERE session_id > ids.sid
            ORDER BY session_id LIMIT 1)
    FROM ids WHERE ids.sid IS NOT NULL)"""


# --- the file ---------------------------------------------------------------------------------

_private_paths: list[str] = []


def usable_path(configured: str) -> str:
    """The file to use for AGENT_SESSION_DB_PATH: `:memory:` is a file private to this process.

    A temporary file, removed at exit, behaves as the spec's in-memory database (lost on
    restart) while every code path stays the one for files.
    """
    if configured != MEMORY_ONLY:
        return configured
    if not _private_paths:
        folder = tempfile.mkdtemp(prefix="todochat-memory-")
        atexit.register(shutil.rmtree, folder, True)
        _private_paths.append(os.path.join(folder, "agent_sessions.db"))
    return _private_paths[0]


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


# --- connections and schema ----------------------------------------------------------------


def connect(
    db_path: str, *, readonly: bool = False, busy_seconds: float = BUSY_TIMEOUT_MS / 1000
) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are explicit (`BEGIN IMMEDIATE`).

    It never creates the file (a missing file fails): new files come from `create_file`.
    `busy_seconds` is how long one statement waits for a lock held elsewhere.
    """
    mode = "ro" if readonly else "rw"
    uri = f"file:{quote(str(Path(db_path).absolute()))}?mode={mode}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=busy_seconds)
    conn.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
    # With WAL, NORMAL never corrupts the file and spares an fsync per commit, which keeps
    # each write lock short; at worst a power cut loses the last deletions of a cache.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.create_function("todochat_item_ok", 1, _item_ok, deterministic=True)
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


# --- items ----------------------------------------------------------------------------------


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


def _item_ok(message_data: Any) -> bool:
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


def _placeholders(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


# --- pruning: one routine for the chat turn and the admin command ----------------------------


def prune_session(
    conn: sqlite3.Connection, session_id: str, max_items: int, timing: TurnTiming | None = None
) -> int:
    """Keep at most the newest `max_items` items, cut at a turn start; return how many went.

    The cut is the first user message at or after the `max_items`-th newest item, so a tool
    output never loses its call and a reasoning item never loses what follows it. A single
    turn longer than the limit is kept whole. The reads walk the kept items' index entries
    and the delete touches only what goes, so cost does not grow with what was deleted before.
    A chat turn's `timing` is recorded in the same transaction (no commit of its own).
    """
    with immediate(conn):
        if timing is not None:
            record_turn_timing(conn, timing)
        boundary = conn.execute(
            f"SELECT id FROM {MESSAGES} WHERE session_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
            (session_id, max_items - 1),
        ).fetchone()
        if boundary is None:
            return 0
        cut = _first_turn_start_from(conn, session_id, boundary[0])
        if cut is None:
            cut = _last_turn_start_before(conn, session_id, boundary[0])
        if cut is None:
            return 0
        return _delete_before(conn, session_id, cut)


def _delete_before(conn: sqlite3.Connection, session_id: str, cut: int) -> int:
    return conn.execute(
        f"DELETE FROM {MESSAGES} WHERE session_id = ? AND id < ?", (session_id, cut)
    ).rowcount


def _first_turn_start_from(conn: sqlite3.Connection, session_id: str, from_id: int) -> int | None:
    return _turn_start(conn, session_id, "id >= ? ORDER BY id", from_id)


def _last_turn_start_before(
    conn: sqlite3.Connection, session_id: str, before_id: int
) -> int | None:
    # Only reached when the newest turn alone is longer than the limit: keep that turn whole.
    return _turn_start(conn, session_id, "id < ? ORDER BY id DESC", before_id)


def _turn_start(conn: sqlite3.Connection, session_id: str, where: str, bound: int) -> int | None:
    """The id of the first turn start among the session's rows selected by `where`."""
    rows = conn.execute(
        f"SELECT id, message_data FROM {MESSAGES} WHERE session_id = ? AND {where}",
        (session_id, bound),
    )
    for row_id, data in rows:
        if is_turn_start(decode_item(data)):
            return row_id
    return None


# --- statistics -------------------------------------------------------------------------------


def empty_session_stats() -> dict[str, Any]:
    return {
        "message_count": 0,
        "last_activity": None,
        "created_at": None,
        "bytes": 0,
        "user": 0,
        "assistant": 0,
        "tool_call": 0,
        "tool_output": 0,
        "other": 0,
        "corrupt_items": 0,
    }


def session_stats(conn: sqlite3.Connection, session_id: str) -> dict[str, Any]:
    """Counts by kind, bytes and times of one session (zeros and None when unknown)."""
    stats = empty_session_stats()
    row = conn.execute(
        f"SELECT created_at, updated_at FROM {SESSIONS} WHERE session_id = ?", (session_id,)
    ).fetchone()
    rows = conn.execute(
        f"SELECT message_data FROM {MESSAGES} WHERE session_id = ? ORDER BY id", (session_id,)
    )
    for (data,) in rows:
        stats["message_count"] += 1
        stats["bytes"] += len(data.encode() if isinstance(data, str) else data or b"")
        stats[item_kind(decode_item(data))] += 1
    if row is not None:
        stats["created_at"] = parse_sqlite_time(row[0])
        stats["last_activity"] = parse_sqlite_time(row[1])
    return stats


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    created_at: datetime | None
    last_activity: datetime | None
    items: int


def list_sessions(conn: sqlite3.Connection, prefix: str = "") -> list[SessionRow]:
    """Sessions whose id starts with `prefix`, most recently active first.

    `substr` rather than LIKE: `_` in `user_…_conv_` is a LIKE wildcard.
    """
    rows = conn.execute(
        f"""SELECT s.session_id, s.created_at, s.updated_at,
                   (SELECT count(*) FROM {MESSAGES} m WHERE m.session_id = s.session_id)
            FROM {SESSIONS} s WHERE substr(s.session_id, 1, length(?1)) = ?1
            ORDER BY s.updated_at DESC, s.session_id""",
        (prefix,),
    )
    return [
        SessionRow(sid, parse_sqlite_time(created), parse_sqlite_time(updated), n)
        for sid, created, updated, n in rows
    ]


def active_session_count(conn: sqlite3.Connection, retention_days: int, now: str = "now") -> int:
    """Sessions written to within the retention window."""
    return conn.execute(
        f"SELECT count(*) FROM {SESSIONS} WHERE NOT ({STALE})", (now, f"-{retention_days} days")
    ).fetchone()[0]


def average_items_per_session(conn: sqlite3.Connection) -> float:
    sessions = conn.execute(f"SELECT count(*) FROM {SESSIONS}").fetchone()[0]
    items = conn.execute(f"SELECT count(*) FROM {MESSAGES}").fetchone()[0]
    return items / sessions if sessions else 0.0


def totals(
    conn: sqlite3.Connection,
    retention_days: int,
    largest: int = 5,
    now: str = "now",
    prefix: str = "",
    items: int | None = None,
) -> dict[str, Any]:
    """File-wide figures for `sessions stats` and monitoring, without reading every row.

    `items`, when the caller counted them on another connection meanwhile (`item_count`,
    the longest of these reads), is taken as is.

    Counts come from indexes (the item count from SQLite's b-tree count, orphans from one
    seek per distinct session), sizes from the page counts; the corrupt-item count is the
    last recorded measurement and its time (None when never measured): see
    `measure_corrupt_items`. `largest_sessions` covers only sessions whose id starts with
    `prefix` (every session when it is empty; that one reads the whole index).
    """
    cutoff = (now, f"-{retention_days} days")
    sessions, due = conn.execute(
        f"SELECT count(*), coalesce(sum({STALE}), 0) FROM {SESSIONS}", cutoff
    ).fetchone()
    items = item_count(conn) if items is None else items
    page_size, pages, free = (
        conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("page_size", "page_count", "freelist_count")
    )
    corrupt, measured_at = recorded_corrupt_items(conn)
    return {
        "sessions": sessions,
        "active_sessions": sessions - due,
        "items": items,
        "used_bytes": (pages - free) * page_size,
        "free_bytes": free * page_size,
        "average_items_per_session": items / sessions if sessions else 0.0,
        "sessions_due_for_cleanup": due,
        "corrupt_items": corrupt,
        "corrupt_items_measured_at": measured_at,
        "orphan_items": orphan_item_count(conn),
        "largest_sessions": largest_sessions(conn, largest, prefix) if largest else [],
    }


def item_count(conn: sqlite3.Connection) -> int:
    """Items in the file: SQLite counts the entries of the smallest index, page by page."""
    return conn.execute(f"SELECT count(*) FROM {MESSAGES}").fetchone()[0]


def _prefix_range(prefix: str) -> tuple[str, tuple[str, ...]]:
    """A WHERE clause on `session_id` for ids starting with `prefix` that an index can seek.

    Text compares bytewise (UTF-8 keeps code-point order), so every id starting with
    `prefix` lies in [prefix, prefix with its last character incremented).
    """
    if not prefix:
        return "1", ()
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return "session_id >= ? AND session_id < ?", (prefix, upper)


def largest_sessions(conn: sqlite3.Connection, limit: int, prefix: str = "") -> list[SessionRow]:
    """The sessions holding the most items among those whose id starts with `prefix`.

    The count reads only the prefix's range of the index; the times come from the session
    row (None for orphans).
    """
    where, bounds = _prefix_range(prefix)
    rows = conn.execute(
        f"""SELECT m.session_id, s.created_at, s.updated_at, m.n
            FROM (SELECT session_id, count(*) AS n FROM {MESSAGES} WHERE {where}
                  GROUP BY session_id ORDER BY n DESC, session_id LIMIT ?) m
            LEFT JOIN {SESSIONS} s ON s.session_id = m.session_id
            ORDER BY m.n DESC, m.session_id""",
        (*bounds, limit),
    )
    return [
        SessionRow(sid, parse_sqlite_time(created), parse_sqlite_time(updated), n)
        for sid, created, updated, n in rows
    ]


# --- recorded measurements --------------------------------------------------------------------


def sqlite_now(conn: sqlite3.Connection) -> str:
    """SQLite's current UTC time as `CURRENT_TIMESTAMP` text."""
    return conn.execute("SELECT CURRENT_TIMESTAMP").fetchone()[0]


def count_corrupt_items(conn: sqlite3.Connection) -> int:
    """Corrupt rows in the whole file: reads every row (seconds on a 1 GB file)."""
    return conn.execute(f"SELECT coalesce(sum({CORRUPT}), 0) FROM {MESSAGES}").fetchone()[0]


def record_measurement(conn: sqlite3.Connection, name: str, value: int, measured_at: str) -> None:
    """Keep `value` with the time its scan started (one tiny write transaction)."""
    with immediate(conn):
        conn.execute(MEASUREMENTS_SCHEMA)
        conn.execute(
            f"INSERT INTO {MEASUREMENTS} (name, value, measured_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
            "measured_at = excluded.measured_at",
            (name, int(value), measured_at),
        )


def recorded_measurement(conn: sqlite3.Connection, name: str) -> tuple[int | None, datetime | None]:
    """(value, measured at) of a recorded figure; (None, None) when never measured."""
    try:
        row = conn.execute(
            f"SELECT value, measured_at FROM {MEASUREMENTS} WHERE name = ?", (name,)
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        row = None
    return (row[0], parse_sqlite_time(row[1])) if row else (None, None)


def recorded_corrupt_items(conn: sqlite3.Connection) -> tuple[int | None, datetime | None]:
    return recorded_measurement(conn, "corrupt_items")


def measure_corrupt_items(conn: sqlite3.Connection) -> int:
    """Count corrupt rows now (a full scan, no lock held) and record the count."""
    started = sqlite_now(conn)
    corrupt = count_corrupt_items(conn)
    record_measurement(conn, "corrupt_items", corrupt, started)
    return corrupt


# --- deleting -------------------------------------------------------------------------------


def delete_session(conn: sqlite3.Connection, session_id: str) -> int:
    """Delete a session's messages and its row together (foreign keys are off in SQLite)."""
    with immediate(conn):
        return _delete_sessions(conn, [session_id])


def _delete_sessions(conn: sqlite3.Connection, session_ids: Sequence[str]) -> int:
    marks = _placeholders(session_ids)
    deleted = conn.execute(
        f"DELETE FROM {MESSAGES} WHERE session_id IN ({marks})", tuple(session_ids)
    ).rowcount
    conn.execute(f"DELETE FROM {SESSIONS} WHERE session_id IN ({marks})", tuple(session_ids))
    # What memory held of the log goes with it (`ensure_schema` made the table).
    conn.execute(f"DELETE FROM {WATERMARKS} WHERE session_id IN ({marks})", tuple(session_ids))
    return deleted


def corrupt_item_ids(conn: sqlite3.Connection, session_id: str | None = None) -> list[int]:
    """Ids of corrupt rows, in one session (via its index) or in the whole file."""
    if session_id is None:
        rows = conn.execute(f"SELECT id FROM {MESSAGES} WHERE {CORRUPT} ORDER BY id")
    else:
        rows = conn.execute(
            f"SELECT id FROM {MESSAGES} WHERE session_id = ? AND {CORRUPT} ORDER BY id",
            (session_id,),
        )
    return [row_id for (row_id,) in rows]


def delete_corrupt_items(conn: sqlite3.Connection, ids: Sequence[int]) -> int:
    """Delete those of `ids` that are still corrupt (the scan ran outside the write lock)."""
    deleted = 0
    for start in range(0, len(ids), 500):
        chunk = tuple(ids[start : start + 500])
        with immediate(conn):
            deleted += conn.execute(
                f"DELETE FROM {MESSAGES} WHERE id IN ({_placeholders(chunk)}) AND {CORRUPT}",
                chunk,
            ).rowcount
    return deleted


def remove_corrupt_items(conn: sqlite3.Connection, session_id: str | None = None) -> int:
    """Find and delete corrupt rows; the write lock is taken only when there are some."""
    ids = corrupt_item_ids(conn, session_id)
    return delete_corrupt_items(conn, ids) if ids else 0


def has_items(conn: sqlite3.Connection, session_id: str) -> bool:
    """Whether the session holds any row (one index seek)."""
    row = conn.execute(
        f"SELECT 1 FROM {MESSAGES} WHERE session_id = ? LIMIT 1", (session_id,)
    ).fetchone()
    return row is not None


def probe(conn: sqlite3.Connection, session_id: str | None = None) -> None:
    """Read the schema, the first page of items and a session's rows; raises if unreadable."""
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    conn.execute(f"SELECT 1 FROM {MESSAGES} LIMIT 1").fetchall()
    if session_id is not None:
        conn.execute(
            f"SELECT length(message_data) FROM {MESSAGES} WHERE session_id = ?", (session_id,)
        ).fetchall()


def quick_check(conn: sqlite3.Connection) -> list[str]:
    """SQLite's `PRAGMA quick_check`: `["ok"]` for a sound file, else what it found."""
    return [line for (line,) in conn.execute("PRAGMA quick_check")]


# --- expiry in short transactions -------------------------------------------------------------


@dataclass
class BatchResult:
    """What one short write transaction of a cleanup did, and how long it held the lock."""

    sessions: int = 0
    items: int = 0
    kept: int = 0
    held_seconds: float = 0.0
    commit_seconds: float = 0.0  # the part of `held_seconds` spent committing


def stale_sessions(
    conn: sqlite3.Connection, retention_days: int, limit: int | None, now: str = "now"
) -> list[tuple[str, int]]:
    """(session id, items) of sessions idle longer than `retention_days`, oldest first.

    A plain read: no lock is taken, so each batch checks staleness again under its own.
    """
    rows = conn.execute(
        f"SELECT s.session_id, (SELECT count(*) FROM {MESSAGES} m "
        f"WHERE m.session_id = s.session_id) FROM {SESSIONS} s WHERE {STALE} "
        "ORDER BY s.updated_at, s.session_id LIMIT ?",
        (now, f"-{retention_days} days", -1 if limit is None else limit),
    )
    return [(sid, n) for sid, n in rows]


def stale_session_ids(
    conn: sqlite3.Connection, retention_days: int, limit: int | None, now: str = "now"
) -> list[str]:
    """Ids of sessions idle longer than `retention_days`, oldest first (no item counts)."""
    rows = conn.execute(
        f"SELECT session_id FROM {SESSIONS} WHERE {STALE} ORDER BY updated_at, session_id LIMIT ?",
        (now, f"-{retention_days} days", -1 if limit is None else limit),
    )
    return [sid for (sid,) in rows]


def stale_item_count(
    conn: sqlite3.Connection,
    retention_days: int,
    now: str = "now",
    from_id: str | None = None,
    below_id: str | None = None,
) -> int:
    """Items of sessions idle longer than `retention_days` (ids in [from_id, below_id))."""
    bounds = (
        (" AND session_id >= ?" if from_id is not None else "")
        + (" AND session_id < ?" if below_id is not None else ""),
        tuple(b for b in (from_id, below_id) if b is not None),
    )
    return conn.execute(
        f"SELECT count(*) FROM {MESSAGES} WHERE session_id IN "
        f"(SELECT session_id FROM {SESSIONS} WHERE {STALE}{bounds[0]})",
        (now, f"-{retention_days} days", *bounds[1]),
    ).fetchone()[0]


def expire_batch(
    conn: sqlite3.Connection,
    session_ids: Sequence[str],
    retention_days: int,
    now: str = "now",
    budget: float | None = None,
) -> BatchResult:
    """Delete these sessions and their items in one write transaction, if still stale.

    The staleness test is repeated under the lock: a session written to since it was
    selected is kept. With a `budget` (seconds), deleting stops once it is spent, before the
    commit; `sessions + kept` then tells how many of `session_ids`, in order, were handled.
    """
    with immediate(conn):
        locked_at = time.perf_counter()
        stale = {
            sid
            for (sid,) in conn.execute(
                f"SELECT session_id FROM {SESSIONS} "
                f"WHERE session_id IN ({_placeholders(session_ids)}) AND {STALE}",
                (*session_ids, now, f"-{retention_days} days"),
            )
        }
        result = BatchResult()
        for sid in session_ids:
            spent = time.perf_counter() - locked_at
            if budget is not None and (result.sessions or result.kept) and spent >= budget:
                break  # at least one session per batch, so a cleanup always progresses
            if sid in stale:
                result.items += _delete_sessions(conn, [sid])
                result.sessions += 1
            else:
                result.kept += 1
        committing = time.perf_counter()
    return _timed(result, locked_at, committing)


def _timed(result: BatchResult, locked_at: float, committing: float) -> BatchResult:
    """`result` with how long its transaction held the lock, and how much of that committing."""
    done = time.perf_counter()
    result.held_seconds, result.commit_seconds = done - locked_at, done - committing
    return result


def trim_stale_session(
    conn: sqlite3.Connection,
    session_id: str,
    retention_days: int,
    max_items: int,
    now: str = "now",
) -> BatchResult:
    """Delete about `max_items` of the oldest items of a stale session too big for one batch.

    The cut falls before a turn start, so should a turn arrive before the rest goes, what
    it finds still begins with a whole turn.
    """
    with immediate(conn):
        locked_at = time.perf_counter()
        if not _is_stale(conn, session_id, (now, f"-{retention_days} days")):
            return BatchResult(kept=1, held_seconds=time.perf_counter() - locked_at)
        boundary = conn.execute(
            f"SELECT id FROM {MESSAGES} WHERE session_id = ? ORDER BY id LIMIT 1 OFFSET ?",
            (session_id, max_items),
        ).fetchone()
        cut = _first_turn_start_from(conn, session_id, boundary[0]) if boundary else None
        # No later turn start: the rest is one endless turn, and all of it goes.
        items = _delete_before(conn, session_id, cut if cut is not None else 2**63 - 1)
        committing = time.perf_counter()
    return _timed(BatchResult(items=items), locked_at, committing)


def _is_stale(conn: sqlite3.Connection, session_id: str, cutoff: tuple[str, str]) -> bool:
    row = conn.execute(
        f"SELECT 1 FROM {SESSIONS} WHERE session_id = ? AND {STALE}", (session_id, *cutoff)
    ).fetchone()
    return row is not None


def orphan_session_ids(conn: sqlite3.Connection) -> list[str]:
    """Session ids that messages carry but `agent_sessions` lacks (one index seek per id)."""
    rows = conn.execute(
        f"{MESSAGE_SESSION_IDS} SELECT sid FROM ids WHERE sid IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {SESSIONS} s WHERE s.session_id = ids.sid)"
    )
    return [sid for (sid,) in rows]


def orphan_item_count(conn: sqlite3.Connection) -> int:
    """Messages whose session row is gone."""
    orphans = orphan_session_ids(conn)
    return sum(
        conn.execute(f"SELECT count(*) FROM {MESSAGES} WHERE session_id = ?", (sid,)).fetchone()[0]
        for sid in orphans
    )


def orphan_item_ids(conn: sqlite3.Connection, limit: int | None = 1000) -> list[int]:
    """Messages whose session row is gone (left by a tool that honoured no cascade)."""
    orphans = orphan_session_ids(conn)[:500]  # within SQLite's limit on parameters
    if not orphans:
        return []
    rows = conn.execute(
        f"SELECT id FROM {MESSAGES} WHERE session_id IN ({_placeholders(orphans)}) "
        "ORDER BY id LIMIT ?",
        (*orphans, -1 if limit is None else limit),
    )
    return [row_id for (row_id,) in rows]


def delete_orphans(conn: sqlite3.Connection, ids: Sequence[int]) -> int:
    """Delete those of `ids` that are still orphans, in one short transaction."""
    with immediate(conn):
        return conn.execute(
            f"DELETE FROM {MESSAGES} WHERE id IN ({_placeholders(ids)}) AND {ORPHAN}",
            tuple(ids),
        ).rowcount


# --- keeping the file small -------------------------------------------------------------------


def auto_vacuum_mode(conn: sqlite3.Connection) -> str:
    return {0: "none", 1: "full", 2: "incremental"}.get(
        conn.execute("PRAGMA auto_vacuum").fetchone()[0], "unknown"
    )


def free_pages(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA freelist_count").fetchone()[0]


@dataclass
class ReleaseResult:
    """What one release step did: pages freed, pages still free, and its hold on the lock."""

    released: int = 0
    left: int = 0
    held_seconds: float = 0.0
    commit_seconds: float = 0.0


def release_free_pages(
    conn: sqlite3.Connection, pages: int = 256, budget: float | None = None
) -> ReleaseResult:
    """Return up to `pages` free pages to the OS in one short transaction.

    Only files in incremental auto-vacuum mode can do this; others need a full VACUUM.
    Python steps a pragma without result columns once, and each step frees one page, so the
    pragma runs once per page, inside the transaction: the counts are exact (taken outside
    it, a chat turn reusing free pages in between made a step seem to free nothing, which
    ended a cleanup's release early). With a `budget` (seconds), freeing stops once it is
    spent, before the commit (at least one page goes): moving pages that are not in memory
    reads the disk, and a step of a thousand pages took most of a second.
    """
    if auto_vacuum_mode(conn) != "incremental":
        return ReleaseResult()
    with immediate(conn):
        locked_at = time.perf_counter()
        before = free_pages(conn)
        within = itertools.takewhile(
            lambda n: n == 0 or budget is None or time.perf_counter() - locked_at < budget,
            range(min(pages, before)),
        )
        conn.executemany("PRAGMA incremental_vacuum(1)", (() for _ in within))
        left = free_pages(conn)
        committing = time.perf_counter()
    done = time.perf_counter()
    return ReleaseResult(before - left, left, done - locked_at, done - committing)


def tune_for_bulk_writes(conn: sqlite3.Connection) -> None:
    """Settings for a connection that deletes and moves many pages (cleanup).

    A 64 MB page cache keeps a batch from spilling; memory-mapped reads spare a system call
    per page read; and the write-ahead log is copied back by the caller (`checkpoint_passive`
    on another connection) rather than inside each commit.
    """
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA mmap_size=2147418112")
    conn.execute("PRAGMA wal_autocheckpoint=0")


def data_version(conn: sqlite3.Connection) -> int:
    """Changes whenever another connection commits to the file (SQLite's `data_version`)."""
    return conn.execute("PRAGMA data_version").fetchone()[0]


def checkpoint_passive(conn: sqlite3.Connection) -> int:
    """Copy what the write-ahead log holds into the file, as far as readers allow; no waiting.

    Returns the frames left in the log uncopied (0 when it is all in the file).
    """
    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if row is None or row[1] < 0:  # not in WAL mode: nothing to copy
        return 0
    return row[1] - row[2]


def checkpoint_truncate(conn: sqlite3.Connection) -> bool:
    """Copy the WAL into the file and truncate it; False when a reader kept it busy."""
    row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return row is None or row[0] == 0


def vacuum(conn: sqlite3.Connection) -> None:
    """Rebuild the file; an older file becomes incremental auto-vacuum on the way."""
    conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("VACUUM")


def normalize_times(conn: sqlite3.Connection, now: str = "now") -> int:
    """Rewrite `updated_at` values the SDK never writes, so cleanup can judge them.

    A Unix time (a number) becomes that time as text; NULL, garbage or a future time becomes
    now: the session is kept this run and judged by the next. Returns the rows rewritten.
    """
    with immediate(conn):
        return conn.execute(
            f"""UPDATE {SESSIONS} SET updated_at = CASE
                    WHEN typeof(updated_at) IN ('integer', 'real')
                         AND datetime(updated_at, 'unixepoch') <= datetime(?1)
                    THEN datetime(updated_at, 'unixepoch')
                    WHEN datetime(updated_at) IS NOT NULL AND datetime(updated_at) <= datetime(?1)
                         AND typeof(updated_at) = 'text'
                    THEN datetime(updated_at)
                    ELSE datetime(?1) END
                WHERE {ODD_TIME.replace("?", "?1")}""",
            (now,),
        ).rowcount


def last_item_id(conn: sqlite3.Connection, session_id: str) -> int:
    """The id of the session's newest item (0 when it has none): one index seek."""
    row = conn.execute(
        f"SELECT max(id) FROM {MESSAGES} WHERE session_id = ?", (session_id,)
    ).fetchone()
    return row[0] or 0


def clean_items_after(conn: sqlite3.Connection, session_id: str, after_id: int) -> int:
    """Rewrite the session's items newer than `after_id` that hold a lone surrogate.

    What a model sent enters memory through the SDK; this makes it text every later request
    can carry, keeping the item (U+FFFD where the surrogate was). Returns the items rewritten.
    """
    rows = conn.execute(
        f"SELECT id, message_data FROM {MESSAGES} WHERE session_id = ? AND id > ? "
        f"AND NOT ({SURROGATE_FREE})",
        (session_id, after_id),
    ).fetchall()
    fixes = []
    for row_id, data in rows:
        try:
            item = json.loads(data)
        except (TypeError, ValueError, RecursionError):
            continue
        if isinstance(item, dict) and not _encodable(item):
            fixes.append((json.dumps(clean_item(item)), row_id))
    if fixes:
        with immediate(conn):
            conn.executemany(f"UPDATE {MESSAGES} SET message_data = ? WHERE id = ?", fixes)
    return len(fixes)


def touch_session(conn: sqlite3.Connection, session_id: str) -> None:
    """Mark a session active now, so a cleanup running meanwhile keeps it (it re-checks)."""
    conn.execute(
        f"UPDATE {SESSIONS} SET updated_at = CURRENT_TIMESTAMP WHERE session_id = ?", (session_id,)
    )


# --- monitoring: turn timings and cleanup runs ----------------------------------------------


@dataclass(frozen=True)
class TurnTiming:
    """What one chat turn measured, in seconds (see `todochat.memory.metrics`)."""

    retrieval: float
    outside_model: float


def record_turn_timing(conn: sqlite3.Connection, timing: TurnTiming) -> None:
    """Add a turn to the ring and the lifetime totals, inside the caller's transaction."""
    conn.execute(TURN_TIMINGS_SCHEMA)
    conn.execute(MEASUREMENTS_SCHEMA)
    row_id = conn.execute(
        f"INSERT INTO {TURN_TIMINGS} (at, retrieval_seconds, outside_model_seconds) "
        "VALUES (?, ?, ?)",
        (time.time(), timing.retrieval, timing.outside_model),
    ).lastrowid
    conn.execute(f"DELETE FROM {TURN_TIMINGS} WHERE id <= ?", (row_id - TURN_TIMINGS_KEPT,))
    added = (1, round(timing.retrieval * 1e6), round(timing.outside_model * 1e6))
    conn.executemany(
        f"INSERT INTO {MEASUREMENTS} (name, value, measured_at) "
        "VALUES (?, ?, CURRENT_TIMESTAMP) ON CONFLICT (name) DO UPDATE SET "
        "value = value + excluded.value, measured_at = excluded.measured_at",
        zip(TURN_TOTALS, added, strict=True),
    )


def turn_timings(conn: sqlite3.Connection, since: float) -> list[TurnTiming]:
    """The ring's turns recorded at or after `since` (Unix time), oldest first."""
    rows = _rows_if_table(
        conn,
        f"SELECT retrieval_seconds, outside_model_seconds FROM {TURN_TIMINGS} "
        "WHERE at >= ? ORDER BY id",
        (since,),
    )
    return [TurnTiming(retrieval, outside) for retrieval, outside in rows]


def turn_totals(conn: sqlite3.Connection) -> dict[str, int]:
    """Lifetime turn count and summed microseconds (zeros before the first timed turn)."""
    return {name: recorded_measurement(conn, name)[0] or 0 for name in TURN_TOTALS}


@dataclass(frozen=True)
class CleanupRun:
    """One recorded cleanup run; `outcome` is None while it runs or when it was killed."""

    id: int
    started_at: float
    finished_at: float | None
    outcome: str | None
    error: str | None
    sessions: int | None
    items: int | None
    orphan_items: int | None
    bytes_freed: int | None


def record_cleanup_start(conn: sqlite3.Connection, started_at: float) -> int:
    """Record a run's start in its own short transaction, keeping the newest runs; its id."""
    with immediate(conn):
        conn.execute(CLEANUP_RUNS_SCHEMA)
        run_id = conn.execute(
            f"INSERT INTO {CLEANUP_RUNS} (started_at) VALUES (?)", (started_at,)
        ).lastrowid
        conn.execute(f"DELETE FROM {CLEANUP_RUNS} WHERE id <= ?", (run_id - CLEANUP_RUNS_KEPT,))
    return run_id


def record_cleanup_end(conn: sqlite3.Connection, run: CleanupRun) -> None:
    """Complete a run's row (or, when its start could not be recorded, add it whole)."""
    with immediate(conn):
        conn.execute(CLEANUP_RUNS_SCHEMA)
        conn.execute(
            f"INSERT INTO {CLEANUP_RUNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, "
            "outcome = excluded.outcome, error = excluded.error, "
            "sessions = excluded.sessions, items = excluded.items, "
            "orphan_items = excluded.orphan_items, bytes_freed = excluded.bytes_freed",
            astuple(run),
        )


def cleanup_runs(conn: sqlite3.Connection) -> list[CleanupRun]:
    """The recorded runs, newest first (none before the first run)."""
    rows = _rows_if_table(conn, f"SELECT * FROM {CLEANUP_RUNS} ORDER BY id DESC", ())
    return [CleanupRun(*row) for row in rows]


def _rows_if_table(conn: sqlite3.Connection, sql: str, args: tuple) -> list[tuple]:
    """The rows of a read on one of our tables; none when the table does not exist yet."""
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return []


# --- following the log: which log message each session is up to date with ---------------------


@dataclass(frozen=True)
class Watermark:
    message_id: int
    reset_at: str | None


def ensure_watermarks(conn: sqlite3.Connection) -> None:
    conn.execute(WATERMARKS_SCHEMA)


def watermark(conn: sqlite3.Connection, session_id: str) -> Watermark | None:
    """What the session's memory holds of the log; None when it never recorded it."""
    row = conn.execute(
        f"SELECT message_id, reset_at FROM {WATERMARKS} WHERE session_id = ?", (session_id,)
    ).fetchone()
    return Watermark(*row) if row else None


def write_from_log(
    conn: sqlite3.Connection,
    session_id: str,
    items: Sequence[dict[str, Any]],
    seen: Watermark,
    replace: bool,
) -> None:
    """Add items taken from the log (after deleting the session's items, if `replace`) and
    record what memory now holds of the log: one transaction, so neither is without the other.

    Rows are written as the SDK's `SQLiteSession.add_items` writes them.
    """
    with immediate(conn):
        if replace:
            conn.execute(f"DELETE FROM {MESSAGES} WHERE session_id = ?", (session_id,))
        if items:
            conn.execute(f"INSERT OR IGNORE INTO {SESSIONS} (session_id) VALUES (?)", (session_id,))
            conn.executemany(
                f"INSERT INTO {MESSAGES} (session_id, message_data) VALUES (?, ?)",
                [(session_id, json.dumps(item)) for item in items],
            )
            touch_session(conn, session_id)
        conn.execute(
            f"INSERT INTO {WATERMARKS} (session_id, message_id, reset_at) VALUES (?, ?, ?) "
            "ON CONFLICT (session_id) DO UPDATE SET message_id = excluded.message_id, "
            "reset_at = excluded.reset_at, updated_at = CURRENT_TIMESTAMP",
            (session_id, seen.message_id, seen.reset_at),
        )


def advance_watermark(conn: sqlite3.Connection, session_id: str, message_id: int) -> None:
    """After a turn: memory holds the log up to this reply (a session never recorded stays so)."""
    conn.execute(
        f"UPDATE {WATERMARKS} SET message_id = ?, updated_at = CURRENT_TIMESTAMP "
        "WHERE session_id = ? AND message_id < ?",
        (message_id, session_id, message_id),
    )
