"""The REPL in a real pseudo-terminal: turns, slash commands, keys, cancellation, the toolbar."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from app_state import conversation_ids, conversation_log, task_titles
from openai_server import OpenAIServer, Reply
from terminal import ALT_ENTER, CTRL_C, Terminal, screen_lines

from todochat.repl import commands
from todochat.turn import CANCELLED_MARK

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("/", [c.name for c in commands.REGISTRY.values()]),
        ("/H", ["/help", "/history"]),
        ("/tasks ", ["all", "done"]),
        ("/tasks d", ["done"]),
        ("/tasks done ", []),
        ("/new ", []),
        ("hello /", []),
    ],
)
def test_completion_of_commands_and_their_arguments(typed, offered):
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from todochat.repl.repl import SlashCompleter

    found = SlashCompleter().get_completions(Document(typed), CompleteEvent())
    assert [c.text for c in found] == offered


@pytest.fixture
def terminals():
    """Start terminals; kill any still running when the test ends."""
    started: list[Terminal] = []

    def start(env: dict[str, str], *args: str, **extra: str) -> Terminal:
        started.append(Terminal(env, "chat", *args, **extra))
        return started[-1]

    yield start
    for terminal in started:
        terminal.close()


def test_a_turn_and_every_slash_command(env, terminals):
    term = terminals(env)
    assert "todochat · alice · offline · a new conversation" in term.prompt()

    shown = term.line("create a task to buy groceries")
    assert "Added #1 buy groceries." in shown
    assert task_titles(env["DATABASE_URL"]) == ["buy groceries"]
    [conversation] = conversation_ids(env["DATABASE_URL"])

    shown = term.line("/help")
    for command in commands.REGISTRY.values():
        assert re.search(
            rf"^  {re.escape(command.name)}\b.*{re.escape(command.help)}$", shown, re.M
        )
    assert "Alt-Enter adds a line" in shown

    shown = term.line("/tasks")
    assert re.search(r"1 │ buy groceries\s+│\s+│\s+│\s+│ open", shown)
    assert "No completed tasks." in term.line("/tasks done")

    shown = term.line("/history")
    assert re.search(r"\d\d:\d\d you: create a task to buy groceries\n", shown)
    assert "todochat:\nAdded #1 buy groceries." in shown

    assert "Agent memory: 4 of 200 items, last activity just now." in term.line("/stats")
    assert "Undone: added #1 buy groceries" in term.line("/undo")
    assert task_titles(env["DATABASE_URL"]) == []
    assert "Error: nothing left to undo in this conversation" in term.line("/undo")
    term.screen_text()  # the toolbar names the user, the conversation and the model
    assert (
        f" alice  conversation {conversation[:8]} create a task to buy groceries  model offline"
        in (term.screen_text())
    )


@SQLITE_ONLY
def test_clear_asks_first_and_keeps_the_log(env, terminals):
    term = terminals(env)
    term.prompt()
    term.line("create a task to buy groceries")
    assert "Nothing to clear" not in term.line("/stats")

    term.send("/clear\r")
    term.expect(re.escape("Clear this conversation's agent memory? The log is kept. [y/N]"))
    assert "Kept." in term.line("")  # Enter alone is No
    assert "Agent memory: 4 of 200 items" in term.line("/stats")

    term.send("/clear\r")
    term.expect(re.escape("[y/N]"))
    assert "Agent memory cleared" in term.line("y")
    assert "Agent memory: 0 of 200 items" in term.line("/stats")

    # The next turn starts from empty memory: its 4 items, no rebuild from the log...
    term.line("what tasks do I have?")
    assert "Agent memory: 4 of 200 items" in term.line("/stats")
    # ...while the log keeps every message of the conversation.
    [log] = conversation_log(env["DATABASE_URL"])
    assert [role for role, _ in log] == ["user", "assistant", "user", "assistant"]
    assert log[0] == ("user", "create a task to buy groceries")

    assert "Started a new conversation." in term.line("/new")
    assert " alice  conversation new  model offline" in term.screen_text()
    assert term.exit_status("/exit\r") == 0


@SQLITE_ONLY
def test_help_and_quit_typed_as_words_do_what_they_say(env, terminals):
    term = terminals(env)
    term.prompt()
    assert "Commands:" in term.line("help")
    assert conversation_ids(env["DATABASE_URL"]) == []  # a command, not a message
    assert term.exit_status("Quit\r") == 0


@SQLITE_ONLY
def test_prompt_keys_history_and_paste(env, terminals):
    term = terminals(env)
    term.prompt()

    term.send("this line is abandoned" + CTRL_C)  # Ctrl-C at the prompt clears the line
    term.prompt()
    assert "No open tasks." in term.line("/tasks")

    term.send("/he")
    term.expect("Show this help")  # completions show while typing, with their help
    assert "Commands:" in term.line("\t")  # Tab completes the only match, /help
    term.send("/c")
    assert "/clear" in term.expect("asks first")
    term.send("\x15")  # Ctrl-U: forget it

    term.line("first line" + ALT_ENTER + "second line")
    term.send("\x1b[200~pasted one\npasted two\x1b[201~")  # bracketed paste: one message
    term.line("")
    assert term.exit_status() == 0  # Ctrl-D on an empty line quits

    [log] = conversation_log(env["DATABASE_URL"])
    said = [content for role, content in log if role == "user"]
    assert said == ["first line\nsecond line", "pasted one\npasted two"]
    history = Path(env["TODOCHAT_DATA_DIR"]) / "history" / "alice"
    assert "+pasted one\n+pasted two\n" in history.read_text()
    assert "+/tasks\n" in history.read_text()
    assert history.stat().st_mode & 0o077 == 0


@SQLITE_ONLY
def test_ctrl_c_cancels_a_streaming_reply_and_keeps_it_marked(env, terminals):
    words = " ".join(f"word{i}" for i in range(40))
    script = [Reply(text=f"Counting slowly: {words}.")]
    with OpenAIServer(chunk_delay=0.2, script=script) as server:
        term = terminals(env, TODOCHAT_MODEL="slow", OPENAI_BASE_URL=server.base_url)
        term.prompt()
        term.send("count for me\r")
        term.expect("word3 ")  # the reply is streaming
        term.send(CTRL_C)
        shown = term.prompt()
        assert CANCELLED_MARK in shown
        assert "word39" not in shown

        server.chunk_delay = 0
        assert "You said: still there?" in term.line("still there?")  # the REPL carries on
        assert term.exit_status() == 0

    [log] = conversation_log(env["DATABASE_URL"])
    assert [role for role, _ in log] == ["user", "assistant", "user", "assistant"]
    partial = log[1][1]
    assert partial.startswith("Counting slowly: word0 word1 word2 word3")
    assert partial.endswith(f"\n\n{CANCELLED_MARK}")
    assert "word39" not in partial


@SQLITE_ONLY
def test_ctrl_c_leaves_the_partial_reply_on_screen_once(env, terminals):
    """The terminal echoed `^C` after the live view's last line, padded to the full width:
    the echo wrapped, the view's erase missed a line, and the partial reply showed twice."""
    words = " ".join(f"word{i}" for i in range(40))
    with OpenAIServer(chunk_delay=0.2, script=[Reply(text=f"Counting: {words}.")]) as server:
        term = terminals(env, TODOCHAT_MODEL="slow", OPENAI_BASE_URL=server.base_url)
        term.prompt()
        term.send("count for me\r")
        term.expect("word3 ")
        term.send("typed ahead" + CTRL_C)
        term.prompt()
        raw = term.transcript.getvalue()
        screen = screen_lines(raw[: raw.index(CANCELLED_MARK) + len(CANCELLED_MARK)])
        [shown] = [line for line in screen if "word0" in line]  # once
        assert shown.startswith("Counting: word0 word1 word2 word3")
        assert screen[-1] == CANCELLED_MARK
        assert term.exit_status() == 0


@SQLITE_ONLY
def test_a_cut_reply_is_marked_incomplete_and_the_repl_goes_on(env, terminals):
    cut = Reply(text="one two three four five six", cut_after=3)
    with OpenAIServer(script=[cut]) as server:
        term = terminals(env, TODOCHAT_MODEL="cut", OPENAI_BASE_URL=server.base_url)
        term.prompt()
        shown = term.line("hello")
        assert re.search(
            r"one two three *\n\[reply incomplete\] *\nError: the reply is incomplete", shown
        )
        assert "You said: again" in term.line("again")
        assert term.exit_status() == 0
    [log] = conversation_log(env["DATABASE_URL"])
    assert log[1] == ("assistant", "one two three\n\n[reply incomplete]")


@SQLITE_ONLY
def test_a_model_error_keeps_the_message_and_the_repl_goes_on(env, terminals):
    with OpenAIServer(fail_status=500) as server:
        term = terminals(env, TODOCHAT_MODEL="broken", OPENAI_BASE_URL=server.base_url)
        term.prompt()
        shown = term.line("create a task to buy groceries")
        assert f"Error: the model broken @ {server.base_url} failed with HTTP 500\n" in shown
        assert "Your message is saved" in shown
        assert "Traceback" not in shown

        server.fail_status = None
        assert "Done: Added task #1 buy groceries [open]." in term.line(
            "create a task to buy groceries"
        )
        assert term.exit_status() == 0

    [log] = conversation_log(env["DATABASE_URL"])
    assert [role for role, _ in log] == ["user", "user", "assistant"]
    assert task_titles(env["DATABASE_URL"]) == ["buy groceries"]


def _agent_stack_loaded(pid: int) -> bool:
    """Whether the process has the agent stack loaded: its compiled cryptography bindings."""
    return "bindings/_rust" in Path(f"/proc/{pid}/maps").read_text()


@SQLITE_ONLY
def test_the_agent_stack_loads_while_the_person_types(env, terminals):
    import time

    term = terminals(env)
    term.prompt()
    deadline = time.monotonic() + 20
    while not _agent_stack_loaded(term.child.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _agent_stack_loaded(term.child.pid), "nothing was typed, yet the stack should load"
    assert "#1 buy milk" in term.line("add buy milk").replace("*", "")
    assert term.exit_status() == 0


UP = "\x1b[A"


@SQLITE_ONLY
def test_each_user_has_their_own_input_history(env, terminals):
    alice = terminals(env)
    alice.prompt()
    alice.line("alice's secret plan")
    assert alice.exit_status() == 0

    bob = terminals(env, "--user", "bob")
    bob.prompt()
    bob.line(UP)  # Up then Enter: with alice's lines in his history, bob would send hers
    assert bob.exit_status() == 0
    assert conversation_log(env["DATABASE_URL"], "bob") == []
    histories = Path(env["TODOCHAT_DATA_DIR"]) / "history"
    assert "+alice's secret plan" in (histories / "alice").read_text()
    assert not (histories / "bob").exists() or "secret" not in (histories / "bob").read_text()


@SQLITE_ONLY
@pytest.mark.parametrize("kind", ["symlink", "directory", "another account's"])
def test_a_history_file_that_is_not_ours_is_left_untouched(env, terminals, tmp_path, kind):
    import os

    target = tmp_path / "someone_elses_file"
    target.write_text("theirs\n")
    history = tmp_path / "history_link"
    what = {
        "symlink": "a symlink",
        "directory": "not a regular file",
        "another account's": "owned by another account (uid 65534)",
    }[kind]
    if kind == "symlink":
        history.symlink_to(target)
    elif kind == "directory":
        history.mkdir()
    else:
        if os.getuid() != 0:
            pytest.skip("giving a file to another account needs root (CI runs as root)")
        os.chown(target, 65534, 65534)
        history = target
    term = terminals(env, TODOCHAT_HISTORY_FILE=str(history))
    shown = term.prompt()
    assert f"Warning: the input history {history} is {what}: it was left untouched" in (
        shown.replace("\n", "")
    )
    assert "Added #1 buy milk." in term.line("create a task to buy milk")
    term.send(UP)  # this session's lines are still there, in memory
    term.expect("buy milk")
    term.send("\x15")
    assert term.exit_status() == 0
    assert target.read_text() == "theirs\n"
    assert history.is_symlink() or history.is_dir() or history.stat().st_uid == 65534
