"""The agent-memory file's tables and indexes, and the SQL fragments the rest share."""

from __future__ import annotations

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
