"""`todochat tasks`, `conversations`, `history` and `--version`: exact output, exit codes."""

from __future__ import annotations

import re
import subprocess

import pytest
from app_state import add_tasks, make_conversation, open_chat
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
    # In a pipe: one tab-separated line a task (number, status, title, due, priority, notes).
    assert out("tasks") == "1\topen\tbuy groceries\t\t\t\n3\topen\tcall [/red] mom\t\t\t\n"
    assert out("tasks", "--all").splitlines() == [
        "1\topen\tbuy groceries\t\t\t",
        "2\tdone\tpay rent\t\t\t",
        "3\topen\tcall [/red] mom\t\t\t",
    ]
    assert out("tasks", "--done") == "2\tdone\tpay rent\t\t\t\n"


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
    # Issue 21 (item 20) made the argument optional (`history -c` shows the latest), so the
    # usage error names both ways instead of click's "Missing argument 'conversation'".
    assert missing.stderr == (
        "Error: name a conversation (id or unique prefix), or use -c for your latest\n"
    )
    assert "Traceback" not in missing.stderr


def _dated_tasks(url: str) -> None:
    """Tasks with due dates and priorities, each added through the logged core."""
    from zoneinfo import ZoneInfo

    from todochat.db import open_database
    from todochat.log import users
    from todochat.tasks import tasklist
    from todochat.tasks.change_log import Cause

    with open_database(url).session() as session:
        actor = tasklist.Actor(
            Cause(users.get_or_create_user(session, "alice").id), ZoneInfo("UTC")
        )
        tasklist.add(session, actor, "someday")
        tasklist.add(session, actor, "file taxes", due="2099-04-15 17:00", priority="high")
        tasklist.add(session, actor, "renew passport", due="2020-01-03", priority="low")
        tasklist.add(session, actor, "call mom", due="today")
        done = tasklist.add(session, actor, "old and done", due="2020-01-02")
        tasklist.set_done(session, actor, done.number, True)


def test_tasks_show_due_and_priority_soonest_first_with_due_filters(env, monkeypatch):
    from datetime import UTC, datetime

    monkeypatch.setenv("TODOCHAT_TIMEZONE", "UTC")
    _dated_tasks(env["DATABASE_URL"])
    today = datetime.now(UTC).date()
    label = f"{today:%a} {today.day} {today:%b}"
    # In a pipe: number, status, title, due, priority, notes; soonest due first.
    assert out("tasks").splitlines() == [
        "3\toverdue\trenew passport\tFri 3 Jan 2020\tlow\t",
        f"4\topen\tcall mom\t{label}\t\t",
        "2\topen\tfile taxes\tWed 15 Apr 2099 17:00\thigh\t",
        "1\topen\tsomeday\t\t\t",
    ]
    assert [r.split("\t")[2] for r in out("tasks", "--due", "today").splitlines()] == ["call mom"]
    overdue = out("tasks", "--due", "overdue").splitlines()
    assert [r.split("\t")[2] for r in overdue] == ["renew passport"]
    assert out("tasks", "--due", "week", "--done") == "No completed tasks due this week.\n"


@SQLITE_ONLY
def test_an_unknown_due_filter_is_a_usage_error(env):
    result = run("tasks", "--due", "soon")
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        "Error: --due must be today, week or overdue, not 'soon'\n",
    )


@SQLITE_ONLY
def test_an_overdue_task_stands_out_in_red(env, monkeypatch):
    from io import StringIO

    from rich.console import Console

    from todochat.db import open_database
    from todochat.log import users
    from todochat.tasks import queries as tasks
    from todochat.ui.render import tasks_table

    _dated_tasks(env["DATABASE_URL"])
    with open_database(env["DATABASE_URL"]).session() as session:
        found = tasks.list_tasks(session, users.find_user(session, "alice").id)
    screen = StringIO()
    Console(file=screen, force_terminal=True, color_system="standard", width=120).print(
        tasks_table(found, "Open tasks")
    )
    red = "\x1b[1;31m"
    assert f"{red}Fri 3 Jan 2020" in screen.getvalue()
    assert f"{red}overdue" in screen.getvalue()
    assert screen.getvalue().count(red) == 2  # only the overdue task's date and status


def test_history_shows_each_turns_changes_and_json_has_them(settings, monkeypatch):
    import asyncio
    import json

    from todochat.tasks import dates, tasklist
    from todochat.tasks.change_log import Cause

    monkeypatch.setenv("TODOCHAT_TIMEZONE", "UTC")
    service = open_chat(settings)
    for said in ("create a task to call mom", "mark 1 as done", "create a task to rest"):
        asyncio.run(service.turn(said))
    actor = tasklist.Actor(
        Cause(service.user_id, service.conversation_id), dates.local_timezone("UTC")
    )
    with service.database.session() as session:  # as /undo does: no message of its own
        tasklist.undo_and_describe(session, actor)
        tasklist.undo_and_describe(session, actor)
    service.close()
    ref = service.conversation_id.hex[:8]
    shown = STAMP.sub("STAMP ", out("history", ref)).splitlines()
    # In a pipe: each message on its line (Markdown markers removed), its changes under it.
    assert shown[1:] == [
        "STAMP you: create a task to call mom",
        shown[2],
        "  -> added #1 call mom",
        "STAMP you: mark 1 as done",
        shown[5],
        "  -> completed #1 call mom",
        "STAMP you: create a task to rest",
        "STAMP todochat: Added #2 rest.",
        "  -> added #2 rest",
        "  -> undid: added #2 rest",
        "  -> undid: completed #1 call mom",
    ]
    assert shown[2].startswith("STAMP todochat: ") and "#1 call mom" in shown[2]
    assert shown[5].startswith("STAMP todochat: ") and "#1 call mom" in shown[5]
    data = json.loads(out("history", ref, "--json"))
    assert [len(m["changes"]) for m in data["messages"]] == [0, 1, 0, 1, 0, 3]
    added = data["messages"][1]["changes"][0]
    assert (added["action"], added["task"], added["text"], added["before"]) == (
        "added",
        1,
        "added #1 call mom",
        None,
    )
    assert added["message_id"] == data["messages"][0]["id"]
    assert added["after"]["title"] == "call mom" and added["undone"] is False
    completed = data["messages"][3]["changes"][0]
    assert completed["undone"] is True
    assert [c["action"] for c in data["messages"][5]["changes"]] == ["added", "undo", "undo"]


@pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
def test_a_listing_whose_reader_goes_away_ends_quietly(env):
    """`tasks | head -1`: exit 141, as a Unix tool killed by SIGPIPE, and nothing on stderr
    (click's own handling exited 1)."""
    add_tasks(env["DATABASE_URL"], [f"task number {i} " + "x" * 80 for i in range(1500)])
    tasks = subprocess.Popen(
        TODOCHAT + ["tasks", "-n", "0"],  # 150 KB: more than a pipe holds
        env=subprocess_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert tasks.stdout.read(2) == b"1\t"
    tasks.stdout.close()
    assert (tasks.wait(timeout=60), tasks.stderr.read()) == (141, b"")
