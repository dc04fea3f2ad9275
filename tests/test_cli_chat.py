"""`todochat chat` without a terminal: `-m`, piped stdin, resuming, `--user`, `--model`."""

from __future__ import annotations

import subprocess

import pytest
from app_state import conversation_ids, conversation_log, make_conversation, task_titles
from conftest import TODOCHAT, subprocess_env
from typer.testing import CliRunner

from todochat.cli import app

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)


def chat(*args: str, input: str | None = None):
    result = CliRunner().invoke(app, ["chat", *args], input=input)
    # An expected failure is an exit code, never an exception escaping the command.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_message_runs_one_turn_and_prints_the_reply(env):
    result = chat("-m", "create a task to buy groceries")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "Added **#1 buy groceries**.\n",
        "",
    )
    assert task_titles(env["DATABASE_URL"]) == ["buy groceries"]
    assert conversation_log(env["DATABASE_URL"]) == [
        [("user", "create a task to buy groceries"), ("assistant", "Added **#1 buy groceries**.")]
    ]


@SQLITE_ONLY
def test_piped_stdin_runs_one_turn_per_line(env):
    lines = "create a task to buy groceries\n\nadd milk to that task\n"
    done = subprocess.run(
        TODOCHAT + ["chat"],
        input=lines,
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "Added **#1 buy groceries**.\nUpdated **#1 buy groceries** (notes: milk).\n"
    )
    [log] = conversation_log(env["DATABASE_URL"])  # one conversation, blank line skipped
    assert [text for role, text in log if role == "user"] == [
        "create a task to buy groceries",
        "add milk to that task",
    ]


@SQLITE_ONLY
def test_continue_resumes_the_latest_conversation(env):
    assert chat("-m", "create a task to buy groceries").exit_code == 0
    result = chat("-c", "-m", "add milk to that task")
    assert (result.exit_code, result.stdout) == (0, "Updated **#1 buy groceries** (notes: milk).\n")
    assert len(conversation_ids(env["DATABASE_URL"])) == 1

    assert chat("-m", "what tasks do I have?").exit_code == 0  # no -c: a new conversation
    assert len(conversation_ids(env["DATABASE_URL"])) == 2
    assert chat("--continue", "-m", "hello").exit_code == 0
    assert [len(log) for log in conversation_log(env["DATABASE_URL"])] == [4, 4]


@SQLITE_ONLY
def test_continue_without_any_conversation_starts_one(env):
    result = chat("-c", "-m", "hello")
    assert result.exit_code == 0
    assert result.stderr == "No earlier conversation; starting a new one.\n"
    assert len(conversation_ids(env["DATABASE_URL"])) == 1


def test_conversation_resumes_by_id_or_unique_prefix(env):
    url = env["DATABASE_URL"]
    make_conversation(url, "aaaa1111" + "0" * 24, ["first"])
    make_conversation(url, "bbbb2222" + "0" * 24, ["second"])
    assert chat("--conversation", "aaaa", "-m", "more").exit_code == 0
    full = "bbbb2222-0000-0000-0000-000000000000"
    assert chat("--conversation", full, "-m", "again").exit_code == 0
    assert [[t for _, t in log if _ == "user"] for log in conversation_log(url)] == [
        ["first", "more"],
        ["second", "again"],
    ]


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            "abc",
            "conversation prefix 'abc' is ambiguous: abc100000000, abc200000000; "
            "type more characters",
        ),
        ("fff", "no conversation 'fff' (see `todochat conversations`)"),
        ("[/red]", "no conversation '[/red]' (ids are hexadecimal, see `todochat conversations`)"),
    ],
)
def test_conversation_unknown_or_ambiguous_is_one_error_line(env, ref, message):
    make_conversation(env["DATABASE_URL"], "abc1" + "0" * 28, ["one"])
    make_conversation(env["DATABASE_URL"], "abc2" + "0" * 28, ["two"])
    result = chat("--conversation", ref, "-m", "hello")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {message}\n")
    assert [len(log) for log in conversation_log(env["DATABASE_URL"])] == [1, 1]


@SQLITE_ONLY
def test_bad_resume_through_the_entry_point_has_no_traceback(env):
    done = subprocess.run(
        TODOCHAT + ["chat", "--conversation", "0123", "-m", "hi"],
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "Error: no conversation '0123' (see `todochat conversations`)\n"


def test_user_flag_acts_for_that_user(env):
    assert chat("--user", "bob", "-m", "create a task to fix the bike").exit_code == 0
    assert task_titles(env["DATABASE_URL"], "bob") == ["fix the bike"]
    assert task_titles(env["DATABASE_URL"], "alice") == []


@SQLITE_ONLY
def test_model_flag_wins_over_the_environment(env, monkeypatch):
    monkeypatch.setenv("TODOCHAT_MODEL", "gpt-5-mini")  # would need a key
    result = chat("--model", "offline", "-m", "create a task to buy groceries")
    assert (result.exit_code, result.stdout) == (0, "Added **#1 buy groceries**.\n")


@SQLITE_ONLY
def test_a_network_model_without_key_or_base_url_is_refused_up_front(env):
    result = chat("--model", "gpt-5", "-m", "hello")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: model 'gpt-5' needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server); "
        "use TODOCHAT_MODEL=offline to run without one\n"
    )
    assert conversation_log(env["DATABASE_URL"]) == []  # refused before anything was written


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-c", "--conversation", "ab", "-m", "hi"],
            "use either --continue or --conversation, not both",
        ),
        (["-m", "   "], "the message given with -m is empty"),
    ],
)
def test_usage_errors_exit_2(env, args, message):
    result = chat(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {message}\n")


@SQLITE_ONLY
def test_memory_in_ram_works_with_a_warning(env, monkeypatch):
    monkeypatch.setenv("AGENT_SESSION_DB_PATH", ":memory:")
    result = chat("-m", "create a task to buy groceries")
    assert (result.exit_code, result.stdout) == (0, "Added **#1 buy groceries**.\n")
    assert result.stderr == (
        "Warning: AGENT_SESSION_DB_PATH is :memory:, so agent memory will not survive a restart.\n"
    )


@SQLITE_ONLY
def test_ctrl_c_during_a_one_shot_reply_keeps_it_marked_and_exits_130(env):
    import os
    import select
    import signal
    import time

    from openai_server import OpenAIServer, Reply

    from todochat.turn import CANCELLED_MARK

    words = " ".join(f"word{i}" for i in range(40))
    with OpenAIServer(chunk_delay=0.1, script=[Reply(text=f"Counting: {words}")]) as server:
        child = subprocess.Popen(
            TODOCHAT + ["chat", "-m", "count"],
            env=subprocess_env(env, TODOCHAT_MODEL="slow", OPENAI_BASE_URL=server.base_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        shown, deadline = b"", time.monotonic() + 15
        while b"word2 " not in shown and time.monotonic() < deadline:
            if select.select([child.stdout], [], [], 0.1)[0]:
                shown += os.read(child.stdout.fileno(), 4096)
        child.send_signal(signal.SIGINT)
        rest, stderr = child.communicate(timeout=15)

    assert b"word2 " in shown
    assert (child.returncode, stderr.decode()) == (130, "Interrupted.\n")
    assert b"word39" not in shown + rest
    [log] = conversation_log(env["DATABASE_URL"])
    assert log[0] == ("user", "count")
    assert log[1][1].startswith("Counting: word0 word1 word2")
    assert log[1][1].endswith(f"\n\n{CANCELLED_MARK}")


@SQLITE_ONLY
def test_a_base_url_without_a_model_says_the_offline_model_answers(env):
    """OPENAI_BASE_URL alone used the offline model silently: now one line says so."""
    child = subprocess_env(env, OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    del child["TODOCHAT_MODEL"]
    done = subprocess.run(
        TODOCHAT + ["chat", "-m", "hello"], env=child, capture_output=True, text=True, timeout=30
    )
    assert (done.returncode, done.stderr) == (
        0,
        "Note: OPENAI_BASE_URL is set but TODOCHAT_MODEL is not, so the built-in offline "
        "model answers; set TODOCHAT_MODEL to a model the server serves.\n",
    )
    named = subprocess.run(
        TODOCHAT + ["chat", "-m", "hello", "--model", "offline"],
        env=child,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (named.returncode, named.stderr) == (0, "")  # chosen, so nothing to say


@SQLITE_ONLY
def test_piped_input_with_the_reply_on_a_terminal(env):
    """stdin a pipe, stdout a terminal: the reply streams live; the keys' echo is held back
    only where stdin is a terminal (the pipe is none)."""
    import shlex

    import pexpect

    command = f"echo 'create a task to buy milk' | {shlex.join(TODOCHAT)} chat; echo rc=$?"
    child = pexpect.spawn(
        "/bin/sh",
        ["-c", command],
        env=subprocess_env(env, TERM="xterm"),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
    )
    child.expect(pexpect.EOF)
    assert "Traceback" not in child.before
    assert child.before.rstrip().endswith("rc=0")
    assert task_titles(env["DATABASE_URL"]) == ["buy milk"]
