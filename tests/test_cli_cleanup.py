"""`todochat cleanup`, as cron runs it: a real process, one summary line, exit codes, a lock."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from agent_memory import add_session, new_file, session_ids, turns
from conftest import TODOCHAT, subprocess_env

from todochat.memory.locks import cleanup_lock


@pytest.fixture
def cron_env(tmp_path) -> dict[str, str]:
    """What cron gives the job: the memory path, and an app database that must stay untouched."""
    return {
        "TODOCHAT_DATA_DIR": str(tmp_path / "data"),
        "AGENT_SESSION_DB_PATH": str(tmp_path / "data" / "agent_sessions.db"),
        # Unreachable on purpose: cleanup must never open the app database.
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "TODOCHAT_USER": "cron",
    }


def cleanup(cron_env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TODOCHAT, "cleanup", *args],
        env=subprocess_env(cron_env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def memory(cron_env) -> str:
    path = new_file(Path(cron_env["AGENT_SESSION_DB_PATH"]))
    add_session(path, "old", turns(25), updated="-8 days")
    add_session(path, "new", turns(2))
    return path


SUMMARY = re.compile(
    r"^cleanup: deleted 1 sessions and 100 items idle over 7 days, 0 orphaned items; "
    r"freed \d+(\.\d)? [KM]?B \(\d+(\.\d)? [KM]?B -> \d+(\.\d)? [KM]?B\) in \d+\.\d\d s\n$"
)


def test_one_summary_line_and_exit_0(cron_env, memory):
    done = cleanup(cron_env)
    assert done.returncode == 0, done.stderr
    assert SUMMARY.match(done.stdout), done.stdout
    assert done.stderr == ""
    assert session_ids(memory) == {"new"}
    assert not (Path(cron_env["TODOCHAT_DATA_DIR"]) / "todochat.db").exists()


def test_dry_run_and_older_than(cron_env, memory):
    dry = cleanup(cron_env, "--dry-run", "--older-than", "9")
    assert dry.stdout == (
        "cleanup (dry run): would delete 0 sessions and 0 items idle over 9 days, "
        "0 orphaned items\n"
    )
    dry = cleanup(cron_env, "--dry-run", "--older-than", "1")
    assert dry.stdout.startswith("cleanup (dry run): would delete 1 sessions and 100 items")
    assert session_ids(memory) == {"old", "new"}


def test_json_report_parses(cron_env, memory):
    done = cleanup(cron_env, "--json", "--vacuum")
    report = json.loads(done.stdout)
    assert report["sessions"] == 1 and report["items"] == 100 and report["vacuumed"]
    assert report["bytes_after"] < report["bytes_before"]
    assert report["bytes_freed"] == report["bytes_before"] - report["bytes_after"]
    assert report["path"] == memory


def test_a_missing_file_is_nothing_to_do(cron_env):
    done = cleanup(cron_env)
    assert done.returncode == 0
    assert (
        done.stdout
        == f"cleanup: no agent memory at {cron_env['AGENT_SESSION_DB_PATH']}; nothing to do\n"
    )
    assert not Path(cron_env["TODOCHAT_DATA_DIR"]).exists()


def test_failure_is_one_error_line_and_exit_1(cron_env):
    path = Path(cron_env["AGENT_SESSION_DB_PATH"])
    path.parent.mkdir(parents=True)
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)  # a damaged database
    done = cleanup(cron_env)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("Error: agent memory ") and "is unreadable" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(cron_env):
    path = Path(cron_env["AGENT_SESSION_DB_PATH"])
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not sqlite" * 500)
    done = cleanup(cron_env)
    assert done.returncode == 1 and done.stdout == ""
    assert (
        done.stderr == f"Error: {path} is not an agent-memory database (not a SQLite file); "
        "it was left untouched: point AGENT_SESSION_DB_PATH at a new or existing memory file\n"
    )
    assert path.read_bytes() == b"not sqlite" * 500
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_a_second_run_exits_0_while_another_holds_the_lock(cron_env, memory):
    with cleanup_lock(memory, 0) as acquired:
        assert acquired
        done = cleanup(cron_env, "--wait", "0.2")
    assert done.returncode == 0
    assert done.stdout == "cleanup: another cleanup is running; nothing done\n"
    assert session_ids(memory) == {"old", "new"}


def test_print_cron_uses_the_cleanup_hour_and_absolute_paths(cron_env, tmp_path):
    done = subprocess.run(
        [*TODOCHAT, "cleanup", "--print-cron"],
        env=subprocess_env(cron_env, AGENT_SESSION_CLEANUP_HOUR="3"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    line = done.stdout.strip()
    assert line.startswith(f"0 3 * * * cd {tmp_path} && AGENT_SESSION_DB_PATH=")
    assert cron_env["AGENT_SESSION_DB_PATH"] in line
    command = line.split(" && ", 1)[1].split(" ", 1)[1]
    assert command.startswith("/") and command.endswith(" cleanup")


@pytest.mark.parametrize("wait", ["nan", "inf", "-1", "1e308"])
def test_a_wait_that_is_no_number_of_seconds_is_one_line(cron_env, memory, wait):
    done = cleanup(cron_env, "--wait", wait)
    assert (done.returncode, done.stdout) == (2, "")
    shown = {"-1": "-1", "1e308": "1e+308"}.get(wait, wait)
    assert done.stderr == f"Error: --wait takes seconds from 0 to 86400, not {shown}\n"
    assert session_ids(memory) == {"old", "new"}
