"""The PostgreSQL app database restarting or going away under an open chat: nothing is lost,
and nothing unsaved is called saved."""

from __future__ import annotations

import subprocess

import pexpect
import pytest
from app_state import conversation_log
from conftest import TODOCHAT, subprocess_env
from faults import PostgresProxy, terminate_backends
from terminal import Terminal

POSTGRES_ONLY = pytest.mark.parametrize("app_db_url", ["postgresql"], indirect=True)


def said(url: str) -> list[str]:
    return [text for log in conversation_log(url) for role, text in log if role == "user"]


@POSTGRES_ONLY
def test_the_repl_reconnects_after_the_server_dropped_its_connection(env):
    term = Terminal(env, "chat")
    try:
        term.prompt()
        assert "Added #1 buy groceries." in term.line("create a task to buy groceries")
        assert terminate_backends(env["DATABASE_URL"]) >= 1  # the REPL's pooled connection
        shown = term.line("create a task to call mum")
        assert "Added #2 call mum." in shown
        assert "Error" not in shown
        assert term.exit_status() == 0
    finally:
        term.close()
    assert said(env["DATABASE_URL"]) == [
        "create a task to buy groceries",
        "create a task to call mum",
    ]


@POSTGRES_ONLY
def test_piped_turns_reconnect_after_the_server_dropped_its_connection(env):
    child = subprocess.Popen(
        [*TODOCHAT, "chat"],
        env=subprocess_env(env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        child.stdin.write("create a task to buy groceries\n")
        child.stdin.flush()
        assert child.stdout.readline() == "Added **#1 buy groceries**.\n"
        assert terminate_backends(env["DATABASE_URL"]) >= 1
        out, err = child.communicate("create a task to call mum\n", timeout=30)
    finally:
        child.kill()
    assert (child.returncode, out, err) == (0, "Added **#2 call mum**.\n", "")
    assert said(env["DATABASE_URL"]) == [
        "create a task to buy groceries",
        "create a task to call mum",
    ]


@POSTGRES_ONLY
def test_with_the_server_down_the_message_is_not_called_saved_and_comes_back(env):
    proxy = PostgresProxy(env["DATABASE_URL"])
    term = Terminal({**env, "DATABASE_URL": proxy.url}, "chat")
    try:
        term.prompt()
        term.line("create a task to buy groceries")
        proxy.down()
        shown = term.line("create a task to call mum")
        assert "your message was NOT saved" in shown
        assert "It is back at the prompt" in shown
        assert "Your message is saved" not in shown
        # The toolbar redraws from what it knew: no database call, no traceback.
        term.send("!")  # typing redraws the prompt and the toolbar
        term.expect("!")
        term.send("\x7f")
        proxy.up()
        shown = term.line("")  # the unsaved text was put back: Enter sends it
        assert "Added #2 call mum." in shown
        assert term.exit_status() == 0
        screen = term.screen_text()
        assert "Traceback" not in screen and "Press ENTER" not in screen
        assert " alice  conversation " in screen and "create a task to buy groceries" in screen
    finally:
        term.close()
        proxy.close()
    assert said(env["DATABASE_URL"]) == [
        "create a task to buy groceries",
        "create a task to call mum",
    ]


@POSTGRES_ONLY
def test_a_connection_lost_during_commit_is_not_retried(app_db_url):
    """The transaction may have gone through: running it again could double a message."""
    from sqlalchemy import text

    from todochat.db.engine import Database
    from todochat.errors import CommitUnknownError

    proxy = PostgresProxy(app_db_url)
    database = Database(proxy.url)
    runs = []

    def work(session):
        runs.append(session.execute(text("SELECT 1")).scalar_one())
        proxy.down()  # the COMMIT that follows finds the connection gone

    try:
        with pytest.raises(CommitUnknownError, match="lost while committing"):
            database.write(work)
    finally:
        database.dispose()
        proxy.close()
    assert runs == [1]


@POSTGRES_ONLY
def test_the_prompt_comes_before_the_app_database_answers(env):
    """The REPL draws its prompt first: a server that has not answered yet does not hold it."""
    proxy = PostgresProxy(env["DATABASE_URL"])
    proxy.hold()
    term = Terminal({**env, "DATABASE_URL": proxy.url}, "chat")
    try:
        assert "alice · offline · a new conversation" in term.prompt()
        term.send("create a task to buy groceries")  # typed while the server stalls
        term.expect("groceries")
        assert said(env["DATABASE_URL"]) == []
        proxy.release()
        assert "Added #1 buy groceries." in term.line("")
        assert term.exit_status() == 0
        assert " alice  conversation " in term.screen_text()
    finally:
        term.close()
        proxy.close()
    assert said(env["DATABASE_URL"]) == ["create a task to buy groceries"]


@POSTGRES_ONLY
def test_an_app_database_that_cannot_be_opened_ends_the_repl_and_shows_what_was_typed(env):
    proxy = PostgresProxy(env["DATABASE_URL"])
    proxy.hold()
    term = Terminal({**env, "DATABASE_URL": proxy.url}, "chat")
    try:
        term.prompt()
        term.send("call the plumber")
        term.expect("plumber")
        proxy.down()  # the connection being opened behind the prompt fails
        term.expect(pexpect.EOF)
        term.child.close()
        assert term.child.exitstatus == 1
        screen = term.screen_text()
        assert "Not sent: call the plumber" in screen
        assert screen.count("Error") == 1
        assert "Error: cannot open the app database: connection failed" in screen
        # Reported once the prompt has ended, after what was not sent, not over the prompt.
        assert screen.index("Not sent: call the plumber") < screen.index("Error:")
        assert "Traceback" not in screen
    finally:
        term.close()
        proxy.close()
    assert said(env["DATABASE_URL"]) == []
