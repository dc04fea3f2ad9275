"""The log's commands: JSON shapes, Markdown, terminal versus pipe output, NO_COLOR, --help,
and the REPL's /conversations, /switch, /rename, /search and /export."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pexpect
import pytest
from app_state import add_tasks, conversation_ids, make_conversation, open_chat
from terminal import Terminal
from test_cli_data import out, run

from todochat.repl import commands

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d ")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def log(env):
    url = env["DATABASE_URL"]
    make_conversation(url, "abc1" + "0" * 28, ["buy groceries", "Added **#1 buy groceries**."])
    make_conversation(url, "def2" + "0" * 28, ["what tasks do I have?"])
    make_conversation(url, "9999" + "0" * 28, ["not mine"], user="bob")
    add_tasks(url, ["buy groceries", "pay rent"], {"pay rent"})
    return url


def test_conversations_json(log):
    listed = json.loads(out("conversations", "--json"))
    assert [c["short_id"] for c in listed] == ["def20000", "abc10000"]
    first = listed[1]
    assert first["id"] == "abc10000-0000-0000-0000-000000000000"
    # Issue 21 (item 20), one key one meaning: the count was "messages", which `history`
    # and exports use for the list of messages; it is "message_count" (as `sessions stats`).
    assert (first["title"], first["message_count"]) == ("buy groceries", 2)
    assert ISO_UTC.match(first["created_at"]) and ISO_UTC.match(first["updated_at"])
    assert json.loads(out("conversations", "--json", "-n", "1"))[0]["short_id"] == "def20000"


def test_history_json_and_markdown(log):
    shown = json.loads(out("history", "abc1", "--json"))
    assert set(shown) == {"id", "short_id", "title", "messages"}
    assert [(m["role"], m["content"]) for m in shown["messages"]] == [
        ("user", "buy groceries"),
        ("assistant", "Added **#1 buy groceries**."),
    ]
    assert all(ISO_UTC.match(m["created_at"]) for m in shown["messages"])
    assert isinstance(shown["messages"][0]["id"], int)
    markdown = out("history", "abc1", "--markdown")
    assert markdown.startswith("## buy groceries (abc10000)\n\n**you** · ")
    assert "Added **#1 buy groceries**." in markdown
    both = run("history", "abc1", "--json", "--markdown")
    assert (both.exit_code, both.stderr) == (
        2,
        "Error: use either --json or --markdown, not both\n",
    )


def test_tasks_json_has_every_column(log):
    from todochat.db.models import Task

    tasks = json.loads(out("tasks", "--all", "--json"))
    assert [(t["number"], t["title"], t["notes"], t["done"]) for t in tasks] == [
        (1, "buy groceries", "", False),
        (2, "pay rent", "", True),
    ]
    assert list(tasks[0])[:4] == ["number", "title", "notes", "done"]
    assert set(tasks[0]) == {c.key for c in Task.__table__.columns} - {"user_id"}
    assert ISO_UTC.match(tasks[1]["completed_at"]) and tasks[0]["completed_at"] is None
    assert json.loads(out("tasks", "--json")) == tasks[:1]


@SQLITE_ONLY
@pytest.mark.parametrize(
    "command",
    ["conversations", "history", "tasks", "search", "export", "import", "rename", "forget"],
)
def test_every_command_has_help_with_an_example(env, command):
    assert "Example: todochat " in out(command, "--help")


@SQLITE_ONLY
def finished(env, *args: str, **extra: str) -> tuple[str, str]:
    """Run a command in a terminal to its end: (what it sent, the plain text shown)."""
    term = Terminal(env, *args, **extra)
    term.expect(pexpect.EOF)
    return term.transcript.getvalue(), term.screen_text()


@SQLITE_ONLY
def test_on_a_terminal_tables_and_markdown_and_no_color_honoured(log, env):
    _, screen = finished(env, "conversations")
    assert re.search(r"def20000 │ what tasks do I have\? +│ +1 │ just now", screen)

    _, screen = finished(env, "tasks")
    assert re.search(r"1 │ buy groceries +│ +│ +│ +│ open", screen)

    raw, screen = finished(env, "search", "groceries")
    assert re.search(r"\x1b\[[0-9;]*7[0-9;]*mgroceries", raw)  # the match, highlighted
    assert "**" not in screen

    raw, screen = finished(env, "history", "abc1", NO_COLOR="1")
    assert "Added #1 buy groceries." in screen and "**" not in screen
    assert re.search(r"\x1b\[[0-9;]*m", raw)  # styled (bold)...
    assert not re.search(r"\x1b\[[0-9;]*(3[0-9]|9[0-7]|38;)[0-9;]*m", raw)  # ...not coloured


@SQLITE_ONLY
def test_rename_refreshes_the_toolbar_title(log, env, tmp_path):
    term = Terminal(env, "chat", cwd=str(tmp_path))
    try:
        term.prompt()
        toolbar = r"conversation \S*abc10000 {}"  # \S*: the style between the spans
        term.line("/switch abc1")
        term.expect(toolbar.format("buy groceries"))
        term.line("/rename Party shopping")
        term.expect(toolbar.format("Party shopping"), timeout=5)  # the old title before
    finally:
        term.close()


@SQLITE_ONLY
def test_repl_log_commands(log, env, tmp_path):
    term = Terminal(env, "chat", cwd=str(tmp_path))
    try:
        term.prompt()
        shown = term.line("/conversations")
        assert re.search(r"def20000 │ what tasks do I have\?", shown)
        assert "Switched to conversation abc10000 (buy groceries)." in term.line("/switch abc1")
        assert "Renamed abc10000: Party shopping" in term.line("/rename Party shopping")
        shown = term.line("/search grocer*")
        assert "abc10000" in shown and "def20000" not in shown
        assert "Exported conversation abc10000 to todochat-abc10000.json." in term.line("/export")
        saved = json.loads((tmp_path / "todochat-abc10000.json").read_text())
        assert saved["users"][0]["conversations"][0]["title"] == "Party shopping"
        term.send("/export\r")
        term.expect(re.escape("todochat-abc10000.json exists. Replace it? [y/N]"))
        assert "Kept." in term.line("")
        term.line("/export notes.md")
        assert (tmp_path / "notes.md").read_text().startswith("# todochat export (")
        assert "Error: no conversation 'zz'" in term.line("/switch zz")
        assert "Usage: /search QUERY" in term.line("/search")  # an argument it needs
        term.line("thanks")  # the turn goes to the switched-to conversation
        assert len(conversation_ids(log)) == 2
    finally:
        term.close()


def test_the_new_slash_commands_are_registered():
    for name in ("/conversations", "/switch", "/rename", "/search", "/export"):
        assert name in commands.REGISTRY


def test_times_in_json_are_utc(log):
    stamp = json.loads(out("conversations", "--json"))[0]["updated_at"]
    assert datetime.fromisoformat(stamp.replace("Z", "+00:00")).utcoffset().total_seconds() == 0


def test_history_pages_by_the_log_not_by_the_clock(env, monkeypatch):
    """The clock stepped back an hour between two turns (NTP, a second machine behind): the
    newest turn is still the newest, in `history -n`, `--all` and `export`."""
    import asyncio

    from test_machines import HourBehind

    from todochat.config import load_settings
    from todochat.db import models

    service = open_chat(load_settings(), notice=[].append)
    asyncio.run(service.turn("create a task to buy groceries"))
    with monkeypatch.context() as stepped_back:
        stepped_back.setattr(models, "datetime", HourBehind)
        asyncio.run(service.turn("create a task to call mom"))
    conversation = service.conversation_id.hex
    page = run("history", conversation, "-n", "2")
    assert page.exit_code == 0
    said = [STAMP.sub("", line) for line in page.stdout.splitlines()[1:]]
    # Its change under it, and none of the turn before the page (a later time on the clock).
    assert said == [
        "you: create a task to call mom",
        "todochat: Added #2 call mom.",
        "  -> added #2 call mom",
    ]
    assert page.stderr == "2 earlier messages hidden; --all shows every one.\n"
    # A page that starts at a reply: the change its question's turn made is still under it.
    reply = run("history", conversation, "-n", "1").stdout.splitlines()[1:]
    assert [STAMP.sub("", line) for line in reply] == [
        "todochat: Added #2 call mom.",
        "  -> added #2 call mom",
    ]
    every = [STAMP.sub("", line) for line in out("history", conversation, "--all").splitlines()]
    assert [line for line in every if line.startswith("you: ")] == [
        "you: create a task to buy groceries",
        "you: create a task to call mom",
    ]
    exported = json.loads(out("export", conversation))
    texts = [m["content"] for m in exported["users"][0]["conversations"][0]["messages"]]
    assert texts[2] == "create a task to call mom"


HUGE = "99999999999999999999"  # beyond SQLite's 64-bit integers (an OverflowError before)


@pytest.mark.parametrize(
    "command", [["tasks", "--all"], ["conversations"], ["history", "abc1"], ["search", "groceries"]]
)
def test_n_0_or_more_than_anything_means_every_one(log, command):
    every = out(*command, "-n", "1000")
    assert every.count("\n") >= 2
    assert out(*command, "-n", "0") == every
    assert out(*command, "-n", HUGE) == every
    negative = run(*command, "-n", "-1")
    assert (negative.exit_code, negative.stdout) == (2, "")
    assert negative.stderr == "Error: -n takes a count (0: every one), not -1\n"


def _command_paths(command, path=()):
    """Every command's words, groups included (`()`, `("sessions",)`, `("sessions", "list")`)."""
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))


def test_h_is_help_on_every_command():
    import typer

    from todochat.cli import app

    paths = list(_command_paths(typer.main.get_command(app)))
    assert ("sessions", "list") in paths and ("chat",) in paths
    for path in paths:
        short, long = run(*path, "-h"), run(*path, "--help")
        assert (short.exit_code, short.stdout) == (0, long.stdout), path
        assert long.stdout.startswith("Usage: ")


def test_history_and_export_take_the_latest_conversation(log):
    """`-c` / `--latest`, as `chat -c`: the conversation last active, without its id."""
    assert out("history", "-c") == out("history", "def2") != out("history", "abc1")
    assert out("history", "--latest", "--json") == out("history", "def2", "--json")
    exported = json.loads(out("export", "-c"))
    [alice] = exported["users"]
    assert [c["id"][:4] for c in alice["conversations"]] == ["def2"]
    both = run("history", "abc1", "-c")
    assert (both.exit_code, both.stderr) == (
        2,
        "Error: name a conversation or use -c (--latest), not both\n",
    )
    nobody = run("history", "-c", "--user", "zed")
    assert (nobody.exit_code, nobody.stderr) == (
        1,
        "Error: no conversation yet: start one with `todochat chat`\n",
    )


def test_history_times_are_in_todochat_timezone(log, monkeypatch):
    """Tasks' due dates were in TODOCHAT_TIMEZONE, the log's times in the machine's zone."""
    from zoneinfo import ZoneInfo

    created = json.loads(out("history", "abc1", "--json"))["messages"][0]["created_at"]
    zone = ZoneInfo("Pacific/Kiritimati")  # UTC+14: no machine running the tests is in it
    moment = datetime.fromisoformat(created.replace("Z", "+00:00")).astimezone(zone)
    monkeypatch.setenv("TODOCHAT_TIMEZONE", "Pacific/Kiritimati")
    lines = out("history", "abc1").splitlines()
    assert lines[1] == f"{moment:%Y-%m-%d %H:%M} you: buy groceries"


def test_search_snippets_show_no_half_markdown_pairs(env):
    """A snippet cut inside `**bold**` kept the half of the pair it held: `…at home** and`."""
    reply = (
        "Sure. " + "word " * 30 + "**remember the groceries for the big party tonight at "
        "home** and " + "more " * 30
    )
    make_conversation(env["DATABASE_URL"], "abc1" + "0" * 28, ["what now?", reply])
    [hit] = out("search", "party").splitlines()
    snippet = hit.split("\t")[3]
    assert "[party]" in snippet and "home and" in snippet
    assert "*" not in snippet
