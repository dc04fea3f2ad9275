"""Nothing stored or sent by a model can drive the terminal: every command that prints stored
or model text, in a real pty and in a pipe, shows control sequences as inert text."""

from __future__ import annotations

import pexpect
import pytest
from app_state import add_tasks, conversation_ids
from faults import run_piped
from openai_server import OpenAIServer, Reply
from terminal import Terminal, plain
from typer.testing import CliRunner

from todochat.cli import app

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)

# Clear screen, window title, blinking red, a hidden OSC 8 link, a C1 CSI, a bell; then an
# emoji shortcode and Rich markup that must print as typed.
EVIL = (
    "pay :skull: \x1b]0;PWNED\x07\x1b[2J\x1b[5;31mrent "
    "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\ \x9b2J [red]x "
    "[docs](https://evil.example/md)"
)
# What only stored text could have put there (we never emit these ourselves).
FOREIGN = ("\x1b[2J", "\x1b]", "\x1b[5;31m", "\x9b", "\x07")


def assert_inert(raw: str) -> None:
    for sequence in FOREIGN:
        assert sequence not in raw, f"{sequence!r} reached the screen"
    assert "␛]0;PWNED␇" in raw  # shown, visibly
    assert ":skull:" in raw and "💀" not in raw


def test_printable_keeps_text_newlines_and_tabs():
    from todochat.ui.render import printable

    assert printable("a\tb\nc\r\nd") == "a\tb\nc\nd"
    assert printable("\x1b[2J\x00\x7f\x9b\u0085") == "␛[2J␀␡\ufffd\ufffd"
    assert printable("émoji 💀 :skull: [red]") == "émoji 💀 :skull: [red]"


@SQLITE_ONLY
def test_no_stored_or_model_text_drives_the_terminal(env):
    model = {"TODOCHAT_MODEL": "fake", "OPENAI_BASE_URL": ""}
    # The reply splits the sequences across chunks, as a stream may.
    evil_reply = Reply(chunks=tuple(EVIL[i : i + 3] for i in range(0, len(EVIL), 3)))
    with OpenAIServer(script=[evil_reply, evil_reply]) as server:
        model["OPENAI_BASE_URL"] = server.base_url
        # A pipe: the user's words and the streamed reply, stored as they came.
        done = run_piped(env, EVIL.encode() + b"\n", "chat", **model)
        assert done.returncode == 0, done.stderr
        assert b"\x1b" not in done.stdout and "␛]0;PWNED␇".encode() in done.stdout
        add_tasks(env["DATABASE_URL"], [EVIL])
        [conversation] = conversation_ids(env["DATABASE_URL"])

        # The REPL: banner (the title), /tasks, /history, then a reply streamed on a terminal.
        term = Terminal(env, "chat", "-c", **model)
        try:
            term.prompt()
            term.line("/tasks")
            term.line("/history")
            term.line("hello")
            assert term.exit_status() == 0
            raw = term.transcript.getvalue()
        finally:
            term.close()
    assert_inert(raw)
    assert raw.count("␛]0;PWNED␇") >= 5  # banner, /tasks, /history (twice), the reply
    assert "docs (https://evil.example/md)" in plain(raw)  # a Markdown link shows its URL

    for command in (
        ["tasks", "--all"],
        ["history", conversation[:8]],
        ["conversations"],
        ["sessions", "list"],
    ):
        term = Terminal(env, *command)
        try:
            term.expect(pexpect.EOF)
            raw = term.transcript.getvalue()
        finally:
            term.close()
        assert_inert(raw)
        piped = CliRunner().invoke(app, command).stdout  # and in a pipe
        assert "\x1b" not in piped and "\x9b" not in piped and "␛]0;PWNED␇" in piped
