"""Odd bytes and broken files on the way in: invalid UTF-8 on stdin, a `.env` we cannot read,
a history file that stops being writable."""

from __future__ import annotations

import pytest
from app_state import conversation_log
from faults import fill, run_piped, small_disk
from terminal import Terminal

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_invalid_utf8_on_stdin_is_replaced_and_every_line_is_a_turn(env):
    # A strict UTF-8 locale (as en_US.UTF-8; C.UTF-8 alone gets surrogateescape from Python).
    locale = {"PYTHONIOENCODING": "utf-8", "LC_ALL": "C.UTF-8"}
    done = run_piped(
        env, b"create a task to buy milk\ncreate a task to pay \xff rent\n", "chat", **locale
    )
    assert (done.returncode, done.stderr) == (0, b"")
    [log] = conversation_log(env["DATABASE_URL"])
    assert [text for role, text in log if role == "user"] == [
        "create a task to buy milk",
        "create a task to pay \ufffd rent",
    ]


@SQLITE_ONLY
def test_a_dot_env_that_is_not_utf8_is_one_error_even_for_help(env, tmp_path):
    (tmp_path / ".env").write_bytes(b"TODOCHAT_USER=j\xf6rg\n")
    done = run_piped(env, b"", "--help", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.decode() == f"Error: cannot read {tmp_path / '.env'}: it is not UTF-8 text\n"


@SQLITE_ONLY
def test_a_history_file_that_fills_up_warns_once_and_the_chat_goes_on(env, tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        history = disk / "chat_history"
        term = Terminal(env, "chat", TODOCHAT_HISTORY_FILE=str(history))
        try:
            term.prompt()
            fill(disk)
            shown = term.line("create a task to buy milk")
            assert "Warning: cannot write the input history" in shown
            assert "kept in memory only" in shown
            assert "Added #1 buy milk." in shown
            shown = term.line("create a task to pay rent")
            assert "Added #2 pay rent." in shown and "Warning" not in shown
            term.send("\x1b[A")  # the lines are still in this session's history
            term.expect("pay rent")
            term.send("\x15")
            assert term.exit_status() == 0
            assert "Traceback" not in term.screen_text()
            assert "Press ENTER" not in term.screen_text()
        finally:
            term.close()
