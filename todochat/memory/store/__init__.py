"""All SQL on the agent-memory file (the SDK's `agent_sessions` and `agent_messages` tables).

The SDK owns the schema; we add indexes, pruning, statistics, repair and expiry. SQLite leaves
foreign keys off, so `ON DELETE CASCADE` never fires: messages and their session row are deleted
together, explicitly. `CURRENT_TIMESTAMP` is UTC text with one-second resolution, so times are
compared in SQL and rows are ordered by id. Every read-then-write takes `BEGIN IMMEDIATE`.

The file is ours only if it is a SQLite database (or empty, or absent): `ensure_file` refuses
anything else, and no connection of ours creates a file implicitly (`mode=rw`), so a new
memory file is always made by `create_file`, readable by its owner only.

One module per concern: schema, values, file, items (and pruning), monitoring, figures,
expiry, sync (watermarks), turn (what a chat turn reads and writes). Callers use `store.name`: every name is here.
"""

from todochat.memory.store.expiry import (  # noqa: F401
    BatchResult,
    ReleaseResult,
    auto_vacuum_mode,
    checkpoint_passive,
    checkpoint_truncate,
    expire_batch,
    free_pages,
    normalize_times,
    release_free_pages,
    stale_item_count,
    stale_session_ids,
    vacuum,
)
from todochat.memory.store.figures import (  # noqa: F401
    SessionRow,
    active_session_count,
    average_items_per_session,
    empty_session_stats,
    item_count,
    largest_sessions,
    list_sessions,
    session_stats,
    totals,
)
from todochat.memory.store.file import (  # noqa: F401
    connect,
    create_file,
    database_size,
    ensure_file,
    ensure_schema,
    existing_file,
    file_identity,
    file_kind,
    file_size,
    immediate,
    index_names,
    initialize_new_file,
    move_aside,
    private_paths,
    usable_path,
    wal_size,
)
from todochat.memory.store.items import (  # noqa: F401
    corrupt_item_ids,
    delete_before,
    delete_corrupt_items,
    delete_orphans,
    delete_session,
    delete_sessions,
    orphan_item_count,
    orphan_item_ids,
    orphan_session_ids,
    probe,
    prune_session,
    prune_within,
    quick_check,
    remove_corrupt_items,
    touch_session,
)
from todochat.memory.store.monitoring import (  # noqa: F401
    CleanupRun,
    TurnTiming,
    cleanup_runs,
    count_corrupt_items,
    measure_corrupt_items,
    record_cleanup_end,
    record_cleanup_start,
    record_measurement,
    record_turn_timing,
    recorded_corrupt_items,
    recorded_measurement,
    sqlite_now,
    turn_timings,
    turn_totals,
)
from todochat.memory.store.schema import (  # noqa: F401
    BUSY_TIMEOUT_MS,
    CLEANUP_RUNS,
    CLEANUP_RUNS_KEPT,
    CLEANUP_RUNS_SCHEMA,
    CORRUPT,
    INDEXES,
    MEASUREMENTS,
    MEASUREMENTS_SCHEMA,
    MEMORY_ONLY,
    MESSAGE_SESSION_IDS,
    MESSAGES,
    ODD_TIME,
    ORPHAN,
    SCHEMA,
    SESSIONS,
    SQLITE_HEADER,
    STALE,
    SURROGATE_FREE,
    TURN_TIMINGS,
    TURN_TIMINGS_KEPT,
    TURN_TIMINGS_SCHEMA,
    TURN_TOTALS,
    WATERMARKS,
    WATERMARKS_SCHEMA,
)
from todochat.memory.store.sync import (  # noqa: F401
    FromLog,
    Watermark,
    advance_watermark,
    ensure_watermarks,
    set_watermark,
    watermark,
    write_from_log,
)
from todochat.memory.store.turn import (  # noqa: F401
    TURN_START,
    SessionRows,
    TurnEnd,
    before_turn,
    finish_turn,
    prune_cut,
    read_session_rows,
)
from todochat.memory.store.values import (  # noqa: F401
    LONE_SURROGATE,
    clean_item,
    clean_text,
    decode_item,
    is_turn_start,
    item_kind,
    item_ok,
    parse_sqlite_time,
    placeholders,
)
