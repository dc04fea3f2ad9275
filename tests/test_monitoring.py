"""The spec's monitoring: cleanup health and turn latency recorded in the memory file, read
back through `sessions stats` (text, JSON, Prometheus), the textfile written by rename, and
the alerting rules and our metrics checked by promtool (which must be installed)."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sqlite3
import struct
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from agent_memory import add_session, new_file, scalar, turns
from app_state import open_chat
from conftest import REPO, TODOCHAT, subprocess_env
from test_cli_sessions import parse_prometheus
from typer.testing import CliRunner

from todochat.config import load_settings, reset_settings
from todochat.memory import store
from todochat.memory.locks import cleanup_lock, cleanup_running
from todochat.memory.manager import SessionManager
from todochat.memory.metrics import STALE_AFTER_SECONDS

runner = CliRunner()
RULES = REPO / "monitoring" / "todochat-alerts.yml"
RULE_TESTS = REPO / "tests" / "prometheus" / "todochat-alerts.test.yml"


@pytest.fixture
def memory_env(tmp_path, monkeypatch) -> dict[str, str]:
    """A cron-like environment: the memory file, and an app database nothing may open."""
    values = {
        "TODOCHAT_DATA_DIR": str(tmp_path / "data"),
        "AGENT_SESSION_DB_PATH": str(tmp_path / "data" / "agent_sessions.db"),
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "TODOCHAT_USER": "cron",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    yield values
    reset_settings()


@pytest.fixture
def memory(memory_env) -> str:
    path = new_file(Path(memory_env["AGENT_SESSION_DB_PATH"]))
    add_session(path, "old", turns(2), updated="-8 days")
    add_session(path, "new", turns(1))
    return path


def stats(*args: str):
    result = runner.invoke(app(), ["sessions", "stats", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def app():
    from todochat.cli import app

    return app


def stats_json() -> dict:
    return json.loads(stats("--json"))


def prometheus() -> dict[str, float]:
    return parse_prometheus(stats("--format", "prometheus"))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def start_cleanup(memory_env, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*TODOCHAT, "cleanup", *args],
        env=subprocess_env(memory_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --- cleanup health ---------------------------------------------------------------------------


def test_a_failed_and_a_successful_cleanup_read_back_from_stats(memory_env, memory):
    """Done means: the outcome of both runs in `stats --json` and in the Prometheus output."""
    holder = sqlite3.connect(memory, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds a write transaction
    try:
        failing = start_cleanup(memory_env, "--wait", "0.2")
        # Holding the cleanup lock: its work began; lock released: that work gave up. Only
        # then does this transaction end, so the failure can be recorded.
        wait_for(lambda: cleanup_running(memory), "the cleanup holds its lock")
        wait_for(lambda: not cleanup_running(memory), "the cleanup gives up")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    out, err = failing.communicate(timeout=60)
    assert failing.returncode == 1 and out == ""
    assert err == f"Error: agent memory {memory} is locked by another process; try again\n"

    figures = stats_json()
    last = figures["cleanup"]["last_attempt"]
    assert last["outcome"] == "failed" and last["finished_at"] is not None
    assert last["error"] == f"agent memory {memory} is locked by another process; try again"
    assert figures["cleanup"]["last_success_at"] is None
    assert figures["alerts"]["cleanup_failed"] and not figures["alerts"]["cleanup_stale"]
    samples = prometheus()
    assert samples['todochat_agent_memory_cleanup_last_outcome{outcome="failed"}'] == 1
    assert samples['todochat_agent_memory_alert{alert="cleanup_failed"}'] == 1
    assert samples["todochat_agent_memory_cleanup_success_ratio"] == 0
    assert "todochat_agent_memory_cleanup_last_success_timestamp_seconds" not in samples

    ok = start_cleanup(memory_env)
    assert ok.communicate(timeout=60)[0].startswith("cleanup: deleted 1 sessions and 8 items")
    figures = stats_json()
    last = figures["cleanup"]["last_attempt"]
    assert (last["outcome"], last["sessions"], last["items"], last["error"]) == ("ok", 1, 8, None)
    assert figures["cleanup"]["runs"] == {
        "ok": 1,
        "failed": 1,
        "skipped": 0,
        "interrupted": 0,
        "running": 0,
    }
    assert figures["cleanup"]["success_rate"] == 0.5
    assert figures["cleanup"]["last_success_at"] == last["finished_at"]
    assert not figures["alerts"]["cleanup_failed"]
    samples = prometheus()
    assert samples['todochat_agent_memory_cleanup_last_outcome{outcome="ok"}'] == 1
    assert samples['todochat_agent_memory_cleanup_runs{outcome="failed"}'] == 1
    assert samples['todochat_agent_memory_alert{alert="cleanup_failed"}'] == 0
    assert samples["todochat_agent_memory_cleanup_success_ratio"] == 0.5
    success = samples["todochat_agent_memory_cleanup_last_success_timestamp_seconds"]
    assert time.time() - 120 < success <= time.time()
    assert "cleanup: last run " in stats() and "success rate 50% (1 of 2" in stats()


def test_a_run_killed_midway_is_an_attempt_without_an_end(memory_env, memory):
    with cleanup_lock(memory, 0):
        waiting = start_cleanup(memory_env, "--wait", "60")  # its start is recorded, then it waits
        wait_for(lambda: runs_recorded(memory) == 1, "the run records its start")
        running = stats_json()
        waiting.send_signal(signal.SIGKILL)
        waiting.wait(timeout=60)
    assert running["cleanup"]["last_attempt"]["outcome"] == "running"
    assert not running["alerts"]["cleanup_failed"]
    figures = stats_json()
    last = figures["cleanup"]["last_attempt"]
    assert (last["outcome"], last["finished_at"]) == ("interrupted", None)
    assert figures["alerts"]["cleanup_failed"] and figures["cleanup"]["success_rate"] == 0
    assert "ALERT: the last cleanup failed: manual intervention needed" in stats()


def runs_recorded(path: str) -> int:
    return scalar(path, f"SELECT count(*) FROM {store.CLEANUP_RUNS}")


def record_run(path: str, started: float, outcome: str | None) -> None:
    with closing(store.connect(path)) as conn:
        run_id = store.record_cleanup_start(conn, started)
        if outcome is not None:
            run = store.CleanupRun(run_id, started, started + 1, outcome, None, 0, 0, 0, 0)
            store.record_cleanup_end(conn, run)


def test_only_runs_since_the_last_that_got_through_can_be_running(memory):
    t0 = time.time() - 3600
    record_run(memory, t0, None)  # killed
    record_run(memory, t0 + 60, "ok")
    record_run(memory, t0 + 120, None)  # working now
    record_run(memory, t0 + 180, "skipped")  # gave up waiting for it
    with cleanup_lock(memory, 0):
        health = SessionManager(memory).monitoring()["cleanup"]
    assert health["runs"] == {"ok": 1, "failed": 0, "skipped": 1, "interrupted": 1, "running": 1}
    assert not health["alerts"]["cleanup_failed"]
    after = SessionManager(memory).monitoring()["cleanup"]  # the lock is free: it died too
    assert after["runs"]["interrupted"] == 2 and after["alerts"]["cleanup_failed"]


def test_stale_after_26_hours_without_success_once_runs_are_expected(memory):
    manager = SessionManager(memory)
    never = manager.monitoring()["cleanup"]
    assert not never["expected"] and never["alerts"] == {
        "cleanup_failed": False,
        "cleanup_stale": False,
    }
    t0 = time.time() - 100 * 3600
    record_run(memory, t0, "ok")
    success = t0 + 1
    assert not manager.monitoring(success + STALE_AFTER_SECONDS - 60)["cleanup"]["alerts"][
        "cleanup_stale"
    ]
    assert manager.monitoring(success + STALE_AFTER_SECONDS + 60)["cleanup"]["alerts"][
        "cleanup_stale"
    ]
    record_run(memory, t0 + 3600, "skipped")  # a skipped run is neither success nor failure
    health = manager.monitoring(t0 + 2 * 3600)["cleanup"]
    assert health["last_attempt"]["outcome"] == "skipped" and health["success_rate"] == 1
    assert health["alerts"] == {"cleanup_failed": False, "cleanup_stale": False}


def test_only_failures_go_stale_26_hours_after_the_first_recorded_run(memory):
    t0 = time.time() - 100 * 3600
    record_run(memory, t0, "failed")
    manager = SessionManager(memory)
    assert manager.monitoring(t0 + 3600)["cleanup"]["alerts"] == {
        "cleanup_failed": True,
        "cleanup_stale": False,
    }
    assert manager.monitoring(t0 + STALE_AFTER_SECONDS + 60)["cleanup"]["alerts"]["cleanup_stale"]


def test_the_record_keeps_the_last_100_runs(memory):
    with closing(store.connect(memory)) as conn:
        for n in range(105):
            store.record_cleanup_start(conn, 1000.0 + n)
    assert runs_recorded(memory) == 100
    assert scalar(memory, f"SELECT min(started_at) FROM {store.CLEANUP_RUNS}") == 1005.0


def test_dry_runs_and_missing_files_record_nothing(memory_env, tmp_path):
    missing = tmp_path / "elsewhere" / "agent_sessions.db"
    report = asyncio.run(SessionManager(str(missing)).cleanup())
    assert not report.file_exists and not missing.parent.exists()
    path = new_file(Path(memory_env["AGENT_SESSION_DB_PATH"]))
    asyncio.run(SessionManager(path).cleanup(dry_run=True))
    assert runs_recorded(path) == 0


def test_a_run_that_cannot_be_recorded_says_so_and_still_succeeds(memory_env, memory):
    with closing(sqlite3.connect(memory)) as conn:
        conn.execute(
            f"CREATE TRIGGER refuse BEFORE UPDATE ON {store.CLEANUP_RUNS} "
            "BEGIN SELECT RAISE(ABORT, 'no room for the record'); END"
        )
    result = runner.invoke(app(), ["cleanup"])
    assert result.exit_code == 0
    assert result.stdout.startswith("cleanup: deleted 1 sessions")
    assert result.stderr.startswith("Warning: this run was not recorded (agent memory ")
    assert "no room for the record" in result.stderr


# --- turn latency -----------------------------------------------------------------------------


def commit_frames(path: str) -> int:
    """Commits in the write-ahead log: frames whose header carries a database size."""
    data = Path(f"{path}-wal").read_bytes()
    page_size, salts = struct.unpack(">I", data[8:12])[0], data[16:24]
    frames = 0
    for offset in range(32, len(data) - 24, 24 + page_size):
        header = data[offset : offset + 24]
        if header[8:16] == salts and struct.unpack(">I", header[4:8])[0]:
            frames += 1
    return frames


def test_a_turns_timing_is_written_with_its_prune_in_one_commit(tmp_path):
    path = new_file(tmp_path / "agent_sessions.db")
    with closing(store.connect(path)) as conn:  # kept open: the log is not checkpointed away
        conn.execute("PRAGMA wal_autocheckpoint=0")
        add_session(path, "s", turns(5))
        before = commit_frames(path)
        pruned = store.prune_session(conn, "s", 8, store.TurnTiming(0.004, 0.020))
        assert pruned == 12 and commit_frames(path) == before + 1
        assert store.turn_timings(conn, 0) == [store.TurnTiming(0.004, 0.020)]
        assert store.turn_totals(conn) == {
            "turns_timed": 1,
            "retrieval_microseconds": 4000,
            "outside_model_microseconds": 20000,
        }


def test_chat_turns_record_retrieval_and_time_outside_the_model(memory_env, tmp_path, monkeypatch):

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("TODOCHAT_MODEL", "offline")
    reset_settings()
    service = open_chat(load_settings())
    asyncio.run(service.turn("create a task to buy groceries"))
    asyncio.run(service.turn("add milk to that task"))
    service.close()
    latency = stats_json()["latency"]
    assert latency["window_turns"] == latency["turns_timed_total"] == 2
    assert 0 < latency["retrieval_p50_seconds"] <= latency["retrieval_p95_seconds"]
    # The time outside the model includes getting memory ready.
    assert latency["outside_model_p95_seconds"] >= latency["retrieval_p95_seconds"]
    samples = prometheus()
    assert samples["todochat_agent_memory_retrieval_seconds_count"] == 2
    assert (
        samples['todochat_agent_memory_retrieval_seconds{quantile="0.95"}']
        == (latency["retrieval_p95_seconds"])
    )


def record_turns(path: str, retrievals: list[float]) -> None:
    with closing(store.connect(path)) as conn, store.immediate(conn):
        for seconds in retrievals:
            store.record_turn_timing(conn, store.TurnTiming(seconds, seconds + 0.01))


def test_retrieval_p95_above_100_ms_over_the_last_day_raises_the_alert(memory_env, memory):
    record_turns(memory, [0.005] * 19 + [0.300])  # the 95th percentile of 20 is the 19th
    figures = stats_json()
    assert figures["latency"]["retrieval_p95_seconds"] == 0.005
    assert not figures["alerts"]["retrieval_p95"]
    record_turns(memory, [0.300, 0.300])
    figures = stats_json()
    assert figures["latency"]["retrieval_p95_seconds"] == 0.300
    assert figures["alerts"]["retrieval_p95"]
    text = stats()
    assert "retrieval p50 5.0 ms, p95 300.0 ms" in text
    assert "ALERT: retrieval p95 above 100 ms: performance issue" in text
    assert prometheus()['todochat_agent_memory_alert{alert="retrieval_p95"}'] == 1
    with closing(sqlite3.connect(memory)) as conn, conn:
        conn.execute(
            f"UPDATE {store.TURN_TIMINGS} SET at = at - 25 * 3600 WHERE retrieval_seconds > 0.1"
        )
    assert not stats_json()["alerts"]["retrieval_p95"]  # older than the window


# --- the textfile -----------------------------------------------------------------------------


def test_output_replaces_the_file_at_once_and_never_a_foreign_one(memory_env, memory, tmp_path):
    folder = tmp_path / "textfile"
    folder.mkdir()
    target = folder / "todochat.prom"
    stats("--format", "prometheus", "--output", str(target))
    first = target.stat()
    assert parse_prometheus(target.read_text())["todochat_agent_memory_sessions"] == 2
    assert oct(first.st_mode & 0o777) == "0o644"
    stats("--format", "prometheus", "--output", str(target))
    assert target.stat().st_ino != first.st_ino  # renamed over, not rewritten in place
    assert [p.name for p in folder.iterdir()] == ["todochat.prom"]  # no temporary left

    foreign = folder / "notes.txt"
    foreign.write_text("my notes\n")
    refused = runner.invoke(
        app(), ["sessions", "stats", "--format", "prometheus", "--output", str(foreign)]
    )
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: {foreign} exists and is not a todochat metrics file; it was left untouched\n"
    )
    assert foreign.read_text() == "my notes\n" and len(list(folder.iterdir())) == 2
    usage = runner.invoke(app(), ["sessions", "stats", "--json", "--output", str(target)])
    assert usage.exit_code == 2
    nowhere = tmp_path / "missing" / "todochat.prom"
    failed = runner.invoke(
        app(), ["sessions", "stats", "--format", "prometheus", "--output", str(nowhere)]
    )
    assert (failed.exit_code, failed.stderr) == (
        1,
        f"Error: cannot write {nowhere}: No such file or directory\n",
    )


def test_output_onto_a_file_we_cannot_read_is_one_line(memory_env, memory, tmp_path):
    """Not ours to read, so not ours to replace: one line, the file untouched (a traceback
    before). Root reads any file, so as root the command runs without that capability."""
    import os

    target = tmp_path / "todochat.prom"
    target.write_text("# HELP somebody else's\n")
    target.chmod(0)
    as_user = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    done = subprocess.run(
        (as_user if os.geteuid() == 0 else [])
        + TODOCHAT
        + ["sessions", "stats", "--format", "prometheus", "--output", str(target)],
        env=subprocess_env(memory_env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert (
        done.stderr == f"Error: cannot read {target} (Permission denied); it was left untouched\n"
    )
    target.chmod(0o600)
    assert target.read_text() == "# HELP somebody else's\n"


# --- promtool ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def promtool() -> str:
    """Prometheus's checker; missing is a failure, never a skip."""
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is missing, so the alerting rules and metrics cannot be checked. Install "
            "it: `apt-get install --no-install-recommends prometheus` on Debian (.ci/run does "
            "this), or put promtool from a Prometheus release on PATH.",
            pytrace=False,
        )
    return found


def promtool_run(promtool: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [promtool, *args], input=stdin, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_promtool_accepts_the_alerting_rules_and_their_unit_tests_pass(promtool):
    assert "SUCCESS: 5 rules found" in promtool_run(promtool, "check", "rules", str(RULES))
    assert "SUCCESS" in promtool_run(promtool, "test", "rules", str(RULE_TESTS))


def test_promtool_accepts_our_metrics_with_every_family_present(promtool, memory_env, memory):
    record_run(memory, time.time() - 3600, "ok")
    record_run(memory, time.time() - 60, "failed")
    record_turns(memory, [0.004, 0.006])
    asyncio.run(SessionManager(memory).measure_corrupt_items())
    text = stats("--format", "prometheus")
    for family in (
        "corrupt_items_measured_timestamp_seconds",
        "cleanup_last_success_timestamp_seconds",
        "cleanup_success_ratio",
        "retrieval_seconds_count",
        "turn_outside_model_seconds_sum",
    ):
        assert f"\ntodochat_agent_memory_{family} " in text, family
    assert promtool_run(promtool, "check", "metrics", stdin=text) == ""
