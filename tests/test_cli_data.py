"""`todochat tasks`, `conversations`, `history` and `--version`: exact output, exit codes."""

from __future__ import annotations

import re
import subprocess

import pytest
from app_state import add_tasks, make_conversation
from conftest import TODOCHAT, subprocess_env
from typer.testing import CliRunner

from todochat import __version__
from todochat.cli import app

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d ", re.M)
UTC_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def out(*args: str) -> str:
    result = run(*args)
    assert (result.exit_code, result.stderr) == (0, "")
    return result.stdout


@pytest.fixture
def some_tasks(env):
    add_tasks(env["DATABASE_URL"], ["buy groceries", "pay rent", "call [/red] mom"], {"pay rent"})


def test_tasks_open_all_and_done(some_tasks):
    # In a pipe: one tab-separated line a task (number, status, title, notes).
    assert out("tasks") == "1\topen\tbuy groceries\t\n3\topen\tcall [/red] mom\t\n"
    assert out("tasks", "--all").splitlines() == [
        "1\topen\tbuy groceries\t",
        "2\tdone\tpay rent\t",
        "3\topen\tcall [/red] mom\t",
    ]
    assert out("tasks", "--done") == "2\tdone\tpay rent\t\n"


@SQLITE_ONLY
def test_tasks_of_someone_else_or_nobody(some_tasks):
    assert out("tasks", "--user", "bob") == "No open tasks.\n"
    assert out("tasks", "--done", "--user", "nobody") == "No completed tasks.\n"


@SQLITE_ONLY
def test_tasks_all_and_done_together_is_a_usage_error(env):
    result = run("tasks", "--all", "--done")
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        "Error: use either --all or --done, not both\n",
    )


def test_conversations_newest_first(env):
    url = env["DATABASE_URL"]
    make_conversation(
        url, "abc1" + "0" * 28, ["create a task to buy groceries", "Added.", "thanks"]
    )
    make_conversation(url, "def2" + "0" * 28, ["what tasks do I have?"])
    make_conversation(url, "9999" + "0" * 28, ["not mine"], user="bob")
    # In a pipe: one tab-separated line a conversation (id, messages, last activity, title).
    assert UTC_STAMP.sub("STAMP", out("conversations")) == (
        "def20000\t1\tSTAMP\twhat tasks do I have?\n"
        "abc10000\t3\tSTAMP\tcreate a task to buy groceries\n"
    )
    assert out("conversations", "-n", "1").count("\n") == 1


@SQLITE_ONLY
def test_conversations_when_there_are_none(env):
    assert out("conversations") == "No conversations yet. Start one with: todochat chat\n"


def test_history_in_a_pipe_is_plain_text(env):
    said = ["create a task to buy groceries", "Added **#1 buy groceries**.", "thanks"]
    make_conversation(env["DATABASE_URL"], "abc1" + "0" * 28, said)
    assert STAMP.sub("STAMP ", out("history", "abc1")) == (
        "Conversation abc10000: create a task to buy groceries\n"
        "STAMP you: create a task to buy groceries\n"
        "STAMP todochat: Added #1 buy groceries.\n"
        "STAMP you: thanks\n"
    )


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            "ab",
            "conversation prefix 'ab' is ambiguous: abc100000000, abd200000000; type more characters",
        ),
        ("9999", "no conversation '9999' (see `todochat conversations`)"),  # bob's
        ("[/red]", "no conversation '[/red]' (ids are hexadecimal, see `todochat conversations`)"),
    ],
)
def test_history_of_an_unknown_or_ambiguous_conversation(env, ref, message):
    make_conversation(env["DATABASE_URL"], "abc1" + "0" * 28, ["one"])
    make_conversation(env["DATABASE_URL"], "abd2" + "0" * 28, ["two"])
    make_conversation(env["DATABASE_URL"], "9999" + "0" * 28, ["bob's"], user="bob")
    result = run("history", ref)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", f"Error: {message}\n")


@SQLITE_ONLY
def test_history_for_a_user_without_conversations(env):
    result = run("history", "abc", "--user", "carol")
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: no conversation 'abc' (see `todochat conversations`)\n",
    )


@SQLITE_ONLY
def test_version_and_a_missing_argument_through_the_entry_point(env):
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            TODOCHAT + list(args),
            env=subprocess_env(env),
            capture_output=True,
            text=True,
            timeout=30,
        )

    version = cli("--version")
    assert (version.returncode, version.stdout, version.stderr) == (
        0,
        f"todochat {__version__}\n",
        "",
    )
    missing = cli("history")
    assert missing.returncode == 2
    assert missing.stderr.endswith("Error: Missing argument 'conversation'.\n")
    assert "Traceback" not in missing.stderr
