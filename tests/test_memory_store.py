"""The SQL on the agent-memory file, on real SQLite files: each of SQLite's pitfalls has a test."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime

import pytest
from agent_memory import add_session, items, new_file, scalar, set_updated, stored, turn, turns

from todochat.memory import store as memory_store


@pytest.fixture
def path(tmp_path) -> str:
    return new_file(tmp_path / "agent_sessions.db")


def connect(path: str) -> sqlite3.Connection:
    return memory_store.connect(path)


# --- pruning --------------------------------------------------------------------------------


def prune(path: str, session_id: str, limit: int) -> int:
    with closing(connect(path)) as conn:
        return memory_store.prune_session(conn, session_id, limit)


def test_prune_keeps_newest_whole_turns_within_the_limit(path):
    add_session(path, "s", turns(5))  # 4 items a turn
    assert prune(path, "s", 10) == 12
    kept = items(path, "s")
    assert [i.get("content") for i in kept if i.get("role") == "user"] == ["turn 3", "turn 4"]
    assert len(kept) == 8


def test_prune_never_separates_a_tool_output_from_its_call(path):
    add_session(path, "s", turns(3))
    # The 6th newest item is turn 1's tool output: cutting there would orphan it.
    assert prune(path, "s", 6) == 8
    kept = items(path, "s")
    assert kept[0] == {"role": "user", "content": "turn 2"}
    calls = {i["call_id"] for i in kept if i.get("type") == "function_call"}
    outputs = {i["call_id"] for i in kept if i.get("type") == "function_call_output"}
    assert outputs == calls == {"c2"}


def test_prune_keeps_a_reasoning_item_with_what_follows(path):
    add_session(path, "s", turns(3, reasoning=True))  # 5 items a turn
    prune(path, "s", 7)
    kept = items(path, "s")
    assert kept[0]["role"] == "user" and kept[1]["type"] == "reasoning"
    assert len(kept) == 5


def test_prune_keeps_a_single_turn_longer_than_the_limit_whole(path):
    long_turn = turn(0)[:1] + [turn(0)[1], turn(0)[2]] * 5 + turn(0)[-1:]
    add_session(path, "s", turns(2, start=1) + long_turn)
    assert prune(path, "s", 4) == 8
    assert stored(path, "s") == [json.dumps(i) for i in long_turn]


def test_prune_under_the_limit_deletes_nothing_and_other_sessions_are_untouched(path):
    add_session(path, "a", turns(2))
    add_session(path, "b", turns(5))
    assert prune(path, "a", 8) == 0
    prune(path, "b", 4)
    assert len(stored(path, "a")) == 8 and len(stored(path, "b")) == 4


def test_a_corrupt_row_is_never_a_cut_point(path):
    add_session(path, "s", turns(1) + ['{"role": "user", "content": "bro', "42"] + turns(1, 1))
    prune(path, "s", 5)
    assert json.loads(stored(path, "s")[0]) == {"role": "user", "content": "turn 1"}


def test_prune_cost_does_not_grow_with_the_rest_of_the_file(tmp_path):
    """A prune walks its own session's index, not the table: count SQLite VM steps."""

    def steps(path: str) -> int:
        counted = [0]
        with closing(connect(path)) as conn:
            conn.set_progress_handler(lambda: counted.__setitem__(0, counted[0] + 1) or 0, 100)
            memory_store.prune_session(conn, "s", 200)
        return counted[0]

    small = new_file(tmp_path / "small.db")
    big = new_file(tmp_path / "big.db")
    for path in (small, big):
        add_session(path, "s", turns(52))  # 208 items: one turn goes
    for n in range(40):
        add_session(big, f"other{n}", turns(100))  # 16,000 items elsewhere
    assert steps(big) < 1.5 * steps(small)


# --- corrupt rows -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "corrupt"),
    [
        ('{"role": "user", "content": "hi"}', False),
        ('{"x": NaN}', False),  # Python's json (the SDK's) accepts it; SQLite's does not
        ("not json", True),
        ("42", True),
        ('"x"', True),
        ("[1, 2]", True),
        ("null", True),
        ("", True),
    ],
)
def test_corrupt_means_not_json_or_not_an_object(path, data, corrupt):
    add_session(path, "s", [data])
    with closing(connect(path)) as conn:
        found = memory_store.corrupt_item_ids(conn, "s")
        assert bool(found) is corrupt
        assert memory_store.count_corrupt_items(conn) == int(corrupt)
        assert memory_store.session_stats(conn, "s")["corrupt_items"] == int(corrupt)


def test_remove_corrupt_items_keeps_every_valid_item(path):
    add_session(path, "s", turns(1) + ["42", '"x"', "{broken"] + turns(1, 1))
    add_session(path, "other", ["[]"])
    with closing(connect(path)) as conn:
        assert memory_store.remove_corrupt_items(conn, "s") == 3
    assert [json.loads(d) for d in stored(path, "s")] == turns(2)
    assert stored(path, "other") == ["[]"]  # another session's rows are its own business


# --- sessions, times, indexes -----------------------------------------------------------------


def test_matching_a_user_prefix_treats_underscore_literally(path):
    for sid in ("user_a_conv_1", "userXaXconv_2", "user_a_conv_3", "user_ab_conv_4"):
        add_session(path, sid, turns(1))
    with closing(connect(path)) as conn:
        found = {row.session_id for row in memory_store.list_sessions(conn, "user_a_conv_")}
    assert found == {"user_a_conv_1", "user_a_conv_3"}


def test_deleting_a_session_deletes_its_messages_although_foreign_keys_are_off(path):
    add_session(path, "s", turns(2))
    assert scalar(path, "PRAGMA foreign_keys") == 0
    # A plain delete of the session row leaves its messages behind: no cascade.
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DELETE FROM agent_sessions WHERE session_id = 's'")
        conn.commit()
    assert len(stored(path, "s")) == 8
    add_session(path, "t", turns(2))
    with closing(connect(path)) as conn:
        assert memory_store.delete_session(conn, "t") == 8
        assert memory_store.orphan_item_ids(conn) != []
    assert stored(path, "t") == []
    assert scalar(path, "SELECT count(*) FROM agent_sessions WHERE session_id = 't'") == 0


def test_sqlite_times_are_utc_text_with_whole_seconds(path):
    add_session(path, "s", turns(1))
    raw = scalar(path, "SELECT updated_at FROM agent_sessions")
    assert len(raw) == 19 and raw[10] == " "
    parsed = memory_store.parse_sqlite_time(raw)
    assert parsed.tzinfo is UTC
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 5


def test_expiry_boundary_is_compared_in_sql(path):
    now = "2026-03-10 12:00:00"
    add_session(path, "exactly", turns(1))
    add_session(path, "older", turns(1))
    set_updated(path, "exactly", "-7 days", now)
    set_updated(path, "older", "-7 days", now)
    set_updated(path, "older", "-1 seconds", scalar(path, "SELECT datetime(?, '-7 days')", now))
    with closing(connect(path)) as conn:
        assert memory_store.stale_session_ids(conn, 7, None, now) == ["older"]
        result = memory_store.expire_batch(conn, ["exactly", "older"], 7, now)
    assert (result.sessions, result.kept) == (1, 1)


def test_expiry_rechecks_under_the_lock(path):
    add_session(path, "s", turns(2), updated="-30 days")
    with closing(connect(path)) as conn:
        selected = memory_store.stale_session_ids(conn, 7, None)
        add_session(path, "s", turn(9))  # a turn arrives; a write moves updated_at
        set_updated(path, "s", "+0 seconds")
        result = memory_store.expire_batch(conn, selected, 7)
    assert (result.sessions, result.kept) == (0, 1)
    assert len(stored(path, "s")) == 12


def test_indexes_are_created_idempotently_on_a_file_the_sdk_created(tmp_path):
    path = str(tmp_path / "sdk.db")
    with closing(sqlite3.connect(path)) as conn:  # the SDK's schema, none of our indexes
        for statement in memory_store.SCHEMA:
            conn.execute(statement)
    with closing(connect(path)) as conn:
        memory_store.ensure_schema(conn)
        memory_store.ensure_schema(conn)
        names = memory_store.index_names(conn)
    assert {"ix_agent_sessions_updated", "ix_agent_messages_session_created"} <= names


# --- keeping the file small -------------------------------------------------------------------


def test_new_files_use_incremental_auto_vacuum_and_release_free_pages(path):
    add_session(path, "s", [{"role": "user", "content": "x" * 2000}] * 400)
    before = scalar(path, "PRAGMA page_count")
    with closing(connect(path)) as conn:
        assert memory_store.auto_vacuum_mode(conn) == "incremental"
        memory_store.delete_session(conn, "s")
        assert memory_store.free_pages(conn) > 100
        free = memory_store.free_pages(conn)
        first = memory_store.release_free_pages(conn, pages=50)
        assert (first.released, first.left) == (50, free - 50)
        rest = memory_store.release_free_pages(conn, pages=10_000)
        assert (rest.released, rest.left) == (free - 50, 0)
        assert rest.held_seconds > 0
        assert memory_store.free_pages(conn) == 0
    assert scalar(path, "PRAGMA page_count") < before - 100


def test_a_passive_checkpoint_says_how_much_of_the_log_it_left(path):
    add_session(path, "s", turns(1))
    with closing(connect(path)) as conn, closing(connect(path)) as reader:
        conn.execute("PRAGMA wal_autocheckpoint=0")
        assert memory_store.checkpoint_passive(conn) == 0  # all copied
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM agent_messages").fetchone()  # an older snapshot
        add_session(path, "t", turns(2))
        assert memory_store.checkpoint_passive(conn) > 0  # what the reader still needs stays
        reader.execute("COMMIT")
        assert memory_store.checkpoint_passive(conn) == 0


def test_vacuum_converts_an_older_file_to_incremental(tmp_path):
    path = str(tmp_path / "old.db")
    with closing(sqlite3.connect(path)) as conn:
        for statement in memory_store.SCHEMA:
            conn.execute(statement)
    add_session(path, "s", turns(1))
    with closing(connect(path)) as conn:
        assert memory_store.auto_vacuum_mode(conn) == "none"
        assert memory_store.release_free_pages(conn).released == 0
        memory_store.vacuum(conn)
        assert memory_store.auto_vacuum_mode(conn) == "incremental"
    assert len(stored(path, "s")) == 4


def test_read_only_connection_never_creates_a_file(tmp_path):
    missing = tmp_path / "nope.db"
    with pytest.raises(sqlite3.OperationalError):
        memory_store.connect(str(missing), readonly=True).execute("SELECT 1 FROM sqlite_master")
    assert not missing.exists()


# --- totals without a full scan; the recorded corrupt-item count -------------------------------


def test_totals_count_orphans_per_session_and_scope_the_largest_to_a_prefix(path):
    add_session(path, "user_a_conv_1", turns(2))
    add_session(path, "user_a_conv_2", turns(1))
    add_session(path, "user_b_conv_1", turns(3))
    add_session(path, "gone", turns(1))
    with closing(connect(path)) as conn:
        conn.execute("DELETE FROM agent_sessions WHERE session_id = 'gone'")
        figures = memory_store.totals(conn, 7, largest=5, prefix="user_a_")
        assert (figures["sessions"], figures["items"], figures["orphan_items"]) == (3, 28, 4)
        assert [r.session_id for r in figures["largest_sessions"]] == [
            "user_a_conv_1",
            "user_a_conv_2",
        ]
        everyone = memory_store.totals(conn, 7, largest=2)["largest_sessions"]
        assert [(r.session_id, r.items) for r in everyone] == [
            ("user_b_conv_1", 12),
            ("user_a_conv_1", 8),
        ]
        assert memory_store.orphan_session_ids(conn) == ["gone"]
        assert figures["used_bytes"] > 0 and figures["free_bytes"] >= 0


def test_the_corrupt_count_is_recorded_with_the_time_its_scan_started(path):
    add_session(path, "s", turns(1) + ["not json", "42"])
    with closing(connect(path)) as conn:
        assert memory_store.totals(conn, 7)["corrupt_items"] is None  # never measured
        assert memory_store.totals(conn, 7)["corrupt_items_measured_at"] is None
        before = datetime.now(UTC).replace(microsecond=0)
        assert memory_store.measure_corrupt_items(conn) == 2
        figures = memory_store.totals(conn, 7)
        assert figures["corrupt_items"] == 2
        assert before <= figures["corrupt_items_measured_at"] <= datetime.now(UTC)
        # A later corrupt row is not in the recorded figure until the next measurement.
        conn.execute("INSERT INTO agent_messages (session_id, message_data) VALUES ('s', '[]')")
        assert memory_store.totals(conn, 7)["corrupt_items"] == 2
        assert memory_store.measure_corrupt_items(conn) == 3


def test_a_read_only_connection_reads_no_measurement_table_as_never_measured(tmp_path):
    raw = tmp_path / "sdk_only.db"
    with closing(sqlite3.connect(raw)) as conn:
        for statement in memory_store.SCHEMA:
            conn.execute(statement)
    with closing(memory_store.connect(str(raw), readonly=True)) as conn:
        assert memory_store.recorded_corrupt_items(conn) == (None, None)


def test_stale_items_counted_in_two_ranges_add_up(path):
    for n in range(6):
        add_session(path, f"s{n}", turns(n + 1), updated="-9 days")
    add_session(path, "fresh", turns(2))
    with closing(connect(path)) as conn:
        whole = memory_store.stale_item_count(conn, 7)
        low = memory_store.stale_item_count(conn, 7, below_id="s3")
        high = memory_store.stale_item_count(conn, 7, from_id="s3")
        assert whole == 4 * (1 + 2 + 3 + 4 + 5 + 6) and (low, high) == (24, 60)
        assert sorted(memory_store.stale_session_ids(conn, 7, None)) == [f"s{n}" for n in range(6)]


def test_checking_the_file_keeps_sqlites_locks(path):
    """Reading the header closes a descriptor, which drops every POSIX lock this process holds
    on the file: another process then deletes the write-ahead log under our open connection.
    Each turn checks the file, so the check reads a file's header only once."""
    import subprocess
    import sys
    from pathlib import Path

    memory_store.ensure_file(path)
    with closing(sqlite3.connect(path, isolation_level=None)) as ours:
        ours.execute("SELECT count(*) FROM agent_messages").fetchone()  # our connection is open
        for _ in range(2):  # a turn's checks, twice
            memory_store.ensure_file(path)
        writer = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute(\"INSERT INTO agent_sessions (session_id) VALUES ('x')\"); c.close()"
        )
        subprocess.run([sys.executable, "-c", writer, path], check=True)
        assert Path(f"{path}-wal").exists()  # the other process saw it was not alone
        assert ours.execute("PRAGMA quick_check").fetchone() == ("ok",)
