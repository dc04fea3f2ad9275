"""SessionManager on real files: the spec's Common Tasks and Monitoring, cleanup under load."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from agent_memory import (
    DAMAGED,
    add_session,
    fill_stale,
    items,
    new_file,
    scalar,
    session_ids,
    set_updated,
    stored,
    turns,
)
from faults import small_disk

from todochat.errors import MemoryStoreError
from todochat.memory import expire as cleanup
from todochat.memory import store as memory_store
from todochat.memory.locks import cleanup_lock
from todochat.memory.manager import SessionManager
from todochat.memory.sdk import parse_session_id


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def path(tmp_path) -> str:
    return new_file(tmp_path / "agent_sessions.db")


def manager(path: str, max_messages: int = 200, retention_days: int = 7) -> SessionManager:
    return SessionManager(path, max_messages=max_messages, retention_days=retention_days)


# --- stats, list, monitoring ------------------------------------------------------------------


def test_session_stats_count_items_by_kind(path):
    add_session(path, "s", turns(2, reasoning=True) + ["42", "{oops"])
    stats = run(manager(path).get_session_stats("s"))
    assert stats["message_count"] == 12
    assert (stats["user"], stats["assistant"], stats["tool_call"], stats["tool_output"]) == (
        2,
        2,
        2,
        2,
    )
    assert (stats["other"], stats["corrupt_items"]) == (2, 2)
    assert stats["bytes"] == sum(len(d.encode()) for d in stored(path, "s"))
    assert stats["last_activity"].tzinfo is not None
    assert stats["created_at"] <= stats["last_activity"]


def test_unknown_session_is_all_zeros_not_an_error(path):
    stats = run(manager(path).get_session_stats("nobody"))
    assert stats["message_count"] == 0 and stats["corrupt_items"] == 0
    assert stats["last_activity"] is None and stats["created_at"] is None


def test_a_missing_file_reads_as_empty_and_is_never_created(tmp_path):
    missing = tmp_path / "sub" / "agent_sessions.db"
    m = manager(str(missing))
    assert run(m.get_session_stats("s"))["message_count"] == 0
    assert run(m.get_active_session_count()) == 0
    assert run(m.get_average_messages_per_session()) == 0.0
    assert run(m.list_sessions()) == []
    assert run(m.totals())["sessions"] == 0
    assert run(m.prune_session_messages("s")) == 0
    assert run(m.clear_session("s")) == 0
    report = run(m.cleanup())
    assert not report.file_exists and report.sessions == 0
    assert not run(m.repair()).file_exists
    assert m.database_size() == 0
    assert not missing.parent.exists()


def test_monitoring_figures(path):
    add_session(path, "a", turns(1))
    add_session(path, "b", turns(3))
    add_session(path, "old", turns(2) + ["[]"], updated="-8 days")
    m = manager(path)
    assert run(m.get_active_session_count()) == 2
    assert run(m.get_average_messages_per_session()) == pytest.approx(25 / 3)
    assert run(m.totals())["corrupt_items"] is None  # not measured yet
    totals = run(m.totals(largest=2, deep=True))
    assert (totals["sessions"], totals["active_sessions"], totals["items"]) == (3, 2, 25)
    assert (totals["sessions_due_for_cleanup"], totals["corrupt_items"]) == (1, 1)
    assert totals["corrupt_items_measured_at"] is not None
    assert [(e.session_id, e.items) for e in totals["largest_sessions"]] == [("b", 12), ("old", 9)]
    assert totals["alerts"] == {
        "database_size": False,
        "active_sessions": False,
        "cleanup_failed": False,
        "cleanup_stale": False,
        "retrieval_p95": False,
    }
    assert totals["database_bytes"] == m.database_size() > 0


def test_largest_sessions_only_of_a_prefix_and_never_json(path):
    add_session(path, "user_a_conv_1", turns(1))
    add_session(path, "user_b_conv_2", turns(3))
    totals = run(manager(path).totals(prefix="user_a_"))
    assert totals["sessions"] == 2 and totals["items"] == 16  # the counts stay file-wide
    assert [(e.session_id, e.items) for e in totals["largest_sessions"]] == [("user_a_conv_1", 4)]
    assert totals["largest_sessions"][0].last_activity is not None
    with pytest.raises(TypeError):  # session ids cannot slip into JSON output by accident
        json.dumps(totals)


def test_database_size_counts_the_write_ahead_log(path):
    m = manager(path)
    wal = Path(f"{path}-wal")
    # A reader inside a read transaction keeps the WAL: no checkpoint may reset it, and the
    # writer closing is not the last connection, so the log is not folded back and deleted.
    with closing(sqlite3.connect(path, isolation_level=None)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM agent_messages").fetchone()
        add_session(path, "s", turns(50))
        assert wal.exists() and wal.stat().st_size > 0
        assert memory_store.wal_size(path) == wal.stat().st_size
        assert m.database_size() == Path(path).stat().st_size + wal.stat().st_size
        assert run(m.totals())["wal_bytes"] == wal.stat().st_size
        reader.execute("COMMIT")


def test_list_sessions_by_prefix_newest_first(path):
    add_session(path, "user_a_conv_1", turns(1), updated="-2 days")
    add_session(path, "user_a_conv_2", turns(2))
    add_session(path, "userXaXconv_3", turns(1))
    rows = run(manager(path).list_sessions("user_a_conv_"))
    assert [(r.session_id, r.items) for r in rows] == [("user_a_conv_2", 8), ("user_a_conv_1", 4)]


def test_session_ids_parse_back_to_user_and_conversation():
    from uuid import uuid4

    from todochat.memory.sdk import get_session_id, user_prefix

    user, conversation = uuid4(), uuid4()
    session_id = get_session_id(user, conversation)
    assert parse_session_id(session_id) == (user, conversation)
    assert session_id.startswith(user_prefix(user))
    assert parse_session_id("user_x_conv_y") is None


# --- prune and clear --------------------------------------------------------------------------


def test_prune_session_messages_cuts_at_a_turn_with_tools_at_the_boundary(path):
    add_session(path, "s", turns(5))
    m = manager(path, max_messages=7)  # the 7th newest item is a tool call
    assert run(m.prune_session_messages("s")) == 16
    kept = items(path, "s")
    assert kept[0]["role"] == "user" and len(kept) == 4
    assert run(m.prune_session_messages("s")) == 0


def test_prune_sessions_prunes_every_session_over_the_limit(path):
    add_session(path, "user_a_conv_1", turns(5))
    add_session(path, "user_a_conv_2", turns(1))
    add_session(path, "user_b_conv_3", turns(5))
    assert run(manager(path, max_messages=8).prune_sessions("user_a_conv_")) == (1, 12)
    assert len(stored(path, "user_b_conv_3")) == 20


def test_clear_session_removes_items_and_row(path):
    add_session(path, "s", turns(2))
    add_session(path, "t", turns(1))
    assert run(manager(path).clear_session("s")) == 8
    assert session_ids(path) == {"t"} and stored(path, "s") == []


def test_updated_at_moves_only_on_writes(path):
    from agents import SQLiteSession

    add_session(path, "s", turns(6), updated="-3 days")
    before = scalar(path, "SELECT updated_at FROM agent_sessions")
    session = SQLiteSession("s", path)
    run(session.get_items())
    run(manager(path, max_messages=4).prune_session_messages("s"))  # upkeep is no activity
    assert scalar(path, "SELECT updated_at FROM agent_sessions") == before
    run(session.add_items([{"role": "user", "content": "again"}]))
    session.close()
    assert scalar(path, "SELECT updated_at FROM agent_sessions") > before


# --- the SDK and the manager on one file ------------------------------------------------------


def test_manager_works_on_a_file_the_sdk_created_and_the_sdk_after_it(tmp_path):
    from agents import SQLiteSession

    path = str(tmp_path / "sdk.db")
    session = SQLiteSession("s", path)
    run(session.add_items(turns(3)))
    session.close()
    m = manager(path, max_messages=4)
    assert run(m.get_session_stats("s"))["message_count"] == 12
    assert run(m.prune_session_messages("s")) == 8
    with memory_store.connect(path) as conn:
        names = memory_store.index_names(conn)
    assert {"ix_agent_sessions_updated", "ix_agent_messages_session_created"} <= names

    again = SQLiteSession("s", path)
    run(again.add_items(turns(1, start=7)))
    assert [i.get("content") for i in run(again.get_items()) if i.get("role") == "user"] == [
        "turn 2",
        "turn 7",
    ]
    again.close()


def test_sdk_works_on_a_file_our_app_created(tmp_path):
    from agents import SQLiteSession

    from todochat.agent.session import get_agent_session

    path = str(tmp_path / "app.db")
    session = get_agent_session(
        "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002", db_path=path
    )
    run(session.add_items(turns(2)))
    session.close()
    assert scalar(path, "PRAGMA auto_vacuum") == 2  # incremental
    assert run(manager(path).cleanup()).sessions == 0
    plain = SQLiteSession(session.session_id, path)
    assert len(run(plain.get_items())) == 8
    plain.close()


# --- cleanup ------------------------------------------------------------------------------------


def test_cleanup_at_exactly_the_retention_boundary(path):
    now = "2026-05-01 03:00:00"
    add_session(path, "boundary", turns(1))
    add_session(path, "past", turns(2))
    add_session(path, "fresh", turns(1))
    set_updated(path, "boundary", "-7 days", now)
    set_updated(path, "past", "-604801 seconds", now)  # 7 days and 1 second
    set_updated(path, "fresh", "-1 days", now)
    report = run(manager(path).cleanup(now=now))
    assert (report.sessions, report.items) == (1, 8)
    assert session_ids(path) == {"boundary", "fresh"}


def test_cleanup_removes_orphans_and_reports_sizes(path):
    add_session(path, "old", turns(30), updated="-30 days")
    add_session(path, "live", turns(1))
    add_session(path, "gone", turns(2))
    with memory_store.connect(path) as conn:  # a tool deleted the row alone: no cascade
        conn.execute("DELETE FROM agent_sessions WHERE session_id = 'gone'")
    m = manager(path)
    dry = run(m.cleanup(dry_run=True))
    assert (dry.sessions, dry.items, dry.orphan_items) == (1, 120, 8)
    assert len(stored(path, "old")) == 120  # a dry run deletes nothing
    report = run(m.cleanup())
    assert (report.sessions, report.items, report.orphan_items) == (1, 120, 8)
    assert session_ids(path) == {"live"} and stored(path, "gone") == []
    assert report.bytes_before > 0 and report.bytes_after == m.database_size()
    assert scalar(path, "PRAGMA freelist_count") == 0  # free pages went back to the OS


def test_cleanup_older_than_overrides_retention(path):
    add_session(path, "three", turns(1), updated="-3 days")
    assert run(manager(path).cleanup()).sessions == 0
    assert run(manager(path).cleanup(older_than_days=2)).sessions == 1


def test_cleanup_vacuum_converts_an_older_file(tmp_path):
    path = str(tmp_path / "old.db")
    with closing(sqlite3.connect(path)) as conn:  # as the SDK makes a file: no auto-vacuum
        for statement in memory_store.SCHEMA:
            conn.execute(statement)
        conn.commit()
    add_session(path, "old", [{"role": "user", "content": "x" * 4000}] * 200, updated="-9 days")
    report = run(manager(path).cleanup(vacuum=True))
    assert report.vacuumed and report.sessions == 1
    assert scalar(path, "PRAGMA auto_vacuum") == 2
    assert report.bytes_after < report.bytes_before / 4


def test_cleanup_holds_the_write_lock_briefly_in_many_batches(tmp_path, monkeypatch):
    # On a RAM file system: what is measured is our batching, not the virtual disk, which
    # stalls a write now and then for a few hundred ms (seen here; bench case 4 measures
    # cleanup on a real disk, beside a writer).
    with small_disk(tmp_path / "ram", "64m") as ram:
        path = new_file(ram / "agent_sessions.db")
        fill_stale(path, 300, 40)  # 12,000 items
        monkeypatch.setattr(cleanup, "BATCH_PAUSE_SECONDS", 0.0)
        report = run(manager(path).cleanup())
        assert report.sessions == 300 and report.items == 12_000
        assert report.batches >= 300 // cleanup.BATCH_SESSIONS
        assert report.max_batch_ms < 100
        assert session_ids(path) == set()


def test_a_chat_freeing_pages_meanwhile_does_not_keep_the_release_going(path, monkeypatch):
    fill_stale(path, 50, 40)
    add_session(path, "live", [{"role": "user", "content": "x" * 4000}] * 400)  # a page each
    pause, kept = cleanup._pause, iter(range(396, 0, -4))

    def a_turn_prunes_meanwhile(report, held):  # and frees about four pages
        with closing(memory_store.connect(path)) as other:
            memory_store.prune_session(other, "live", next(kept, 1))
        pause(report, held)

    monkeypatch.setattr(cleanup, "FREE_PAGE_STEP", 8)  # steps of 8 pages
    monkeypatch.setattr(cleanup, "_pause", a_turn_prunes_meanwhile)
    report = run(manager(path).cleanup())
    assert report.sessions == 50
    # The step that found fewer than 8 free pages was the last, long before the chat's
    # pruning (and its freeing) ran out.
    assert len(stored(path, "live")) > 200
    assert scalar(path, "PRAGMA freelist_count") < 8 + 8


def test_cleanup_leaves_the_write_ahead_log_empty(path):
    fill_stale(path, 200, 40)
    report = run(manager(path).cleanup())
    assert report.sessions == 200
    assert memory_store.wal_size(path) == 0


def test_a_cleanup_waits_for_another_then_reports_it(path):
    add_session(path, "old", turns(1), updated="-30 days")
    with cleanup_lock(path, 0) as acquired:
        assert acquired
        report = run(manager(path).cleanup(lock_wait=0.2))
    assert report.another_run_active and report.sessions == 0
    assert session_ids(path) == {"old"}


WRITER = r"""
import asyncio, json, sys, time
from pathlib import Path
from agents import SQLiteSession

db, stop, sessions = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])

async def main():
    opened = {sid: SQLiteSession(sid, db) for sid in sessions}
    written, errors, n = [], [], 0
    print("ready", flush=True)
    while not stop.exists():
        sid, marker = sessions[n % len(sessions)], f"marker-{n}"
        try:
            await opened[sid].add_items([{"role": "user", "content": marker},
                                         {"role": "assistant", "content": "ok " + marker}])
            written.append([sid, marker, time.time()])
        except Exception as exc:
            errors.append(repr(exc))
        n += 1
        await asyncio.sleep(0.003)
    print(json.dumps({"written": written, "errors": errors}))

asyncio.run(main())
"""


def test_cleanup_while_another_process_writes_turns(tmp_path):
    # On a RAM file system, as above: the batches' hold time, not the virtual disk's stalls.
    with small_disk(tmp_path / "ram", "64m") as ram:
        path = new_file(ram / "agent_sessions.db")
        fill_stale(path, 400, 40)
        live = ["live_1", "live_2"]
        revived = ["stale_00100", "stale_00399"]  # idle, but written to during the cleanup
        for sid in live:
            add_session(path, sid, turns(1))
        stop = tmp_path / "stop"
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, path, str(stop), json.dumps(live + revived)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert writer.stdout.readline().strip() == "ready"
            time.sleep(0.2)
            started = time.time()
            report = run(manager(path).cleanup())
            finished = time.time()
        finally:
            stop.touch()
            output, _ = writer.communicate(timeout=60)
        result = json.loads(output.strip().splitlines()[-1])
        assert result["errors"] == []
        during = [w for w in result["written"] if started <= w[2] <= finished]
        assert len(during) >= 5, "the writer must overlap the cleanup"
        for sid, marker, _ in result["written"]:  # no item the writer wrote is lost
            assert any(marker in data for data in stored(path, sid)), (sid, marker)
        assert session_ids(path) == set(live + revived)
        assert report.sessions >= 398 and report.max_batch_ms < 100


def test_two_cleanups_at_once(path, tmp_path):
    from conftest import TODOCHAT

    fill_stale(path, 400, 40)
    env = {**os.environ, "AGENT_SESSION_DB_PATH": path, "TODOCHAT_DATA_DIR": str(tmp_path)}
    runs = [
        subprocess.Popen(
            [*TODOCHAT, "cleanup", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=60), *p.communicate()) for p in runs]
    assert [code for code, _, _ in results] == [0, 0], results
    reports = [json.loads(out) for _, out, _ in results]
    assert sum(r["sessions"] for r in reports) == 400
    assert session_ids(path) == set()


# --- repair -------------------------------------------------------------------------------------


def test_repair_removes_corrupt_items_and_checks_the_file(path):
    add_session(path, "s", turns(1) + ["42", '"x"', "{bad"] + turns(1, 1))
    report = run(manager(path).repair())
    assert report.ok and report.removed == 3 and report.check == ["ok"]
    assert len(stored(path, "s")) == 8
    totals = run(manager(path).totals())  # the repair's scan recorded what it left: none
    assert totals["corrupt_items"] == 0 and totals["corrupt_items_measured_at"] is not None


def test_repair_reports_a_damaged_database_and_moves_it_aside(tmp_path):
    path = tmp_path / "agent_sessions.db"
    path.write_bytes(DAMAGED)
    m = manager(str(path))
    report = run(m.repair())
    assert not report.ok and "not a database" in report.check[0]
    moved = m.move_aside()
    assert moved.name.startswith("agent_sessions.db.corrupt-") and not path.exists()


def test_a_file_that_is_not_sqlite_is_never_repaired_or_moved(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"my notes, not sqlite" * 100)
    m = manager(str(path))
    for attempt in (lambda: run(m.repair()), m.move_aside, lambda: run(m.cleanup())):
        with pytest.raises(MemoryStoreError, match="is not an agent-memory database"):
            attempt()
    assert path.read_bytes() == b"my notes, not sqlite" * 100
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_cleanup_expires_in_fixed_batches_with_the_lock_free_between(path, monkeypatch):
    """20 sessions a write transaction, whatever they hold, and at least 30 ms with the lock
    free after each (a waiting turn gets in): the plain schedule bench cases 4 and 18 chose."""
    fill_stale(path, 90, 40)
    moments: list[tuple[float, str]] = []
    real_connect = sqlite3.connect

    def traced(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(lambda sql: moments.append((time.perf_counter(), sql)))
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    report = run(manager(path).cleanup())
    assert report.sessions == 90
    deletes = [sql for _, sql in moments if sql.startswith("DELETE FROM agent_sessions")]
    assert len(deletes) == 5
    assert max(sql.count("'stale_") for sql in deletes) == 20
    batches, began, expiring = [], 0.0, False  # (began, committed) of each expiry batch
    for at, sql in moments:
        if sql == "BEGIN IMMEDIATE":
            began, expiring = at, False
        expiring = expiring or sql.startswith("DELETE FROM agent_sessions")
        if sql == "COMMIT" and expiring:
            batches.append((began, at))
    gaps = [nxt[0] - done[1] for done, nxt in zip(batches, batches[1:], strict=False)]
    assert len(batches) == len(deletes)
    assert min(gaps) >= 0.030
