"""Reads a user waits for are bounded by what they return: a memory rebuild reads only the
newest turns of a long conversation, history shows a page, tasks a page with the total."""

from __future__ import annotations

import asyncio
import json

from app_state import open_chat

from todochat.log import messages as message_queries
from todochat.log.memory_feed import TurnLog
from todochat.memory.turn import items_from_log, rebuild_window
from todochat.turn import ChatService


def long_conversation(service: ChatService, turns: int) -> None:
    first = service.save_user_message("question 0")
    service.save_reply("answer 0", first.id)
    with service.database.session() as session:
        for n in range(1, turns):
            asked = message_queries.add_message(session, service.conversation_id, "user", f"q{n}")
            message_queries.add_message(
                session, service.conversation_id, "assistant", f"a{n}", asked.id
            )


def test_a_rebuild_reads_only_the_newest_turns(settings):
    service = open_chat(settings)
    long_conversation(service, 400)
    log = TurnLog(service.database, service.user_id, service.conversation_id, 0)
    max_items = 20
    _, window = log.earlier(rebuild_window(max_items))
    _, everything = log.earlier()
    assert len(everything) == 800 and len(window) == rebuild_window(max_items)
    assert [m.content for m in window] == [m.content for m in everything[-len(window) :]]
    assert items_from_log(window, max_items - 1) == items_from_log(everything, max_items - 1)


def test_memory_lost_is_rebuilt_from_the_newest_turns(settings):
    from todochat.memory.manager import SessionManager

    service = open_chat(settings)
    long_conversation(service, 300)
    asyncio.run(SessionManager.from_settings(settings).clear_session(service.session_id))
    asyncio.run(service.turn("what tasks do I have?"))
    items = asyncio.run(service.agent_session().get_items())
    said = [i.get("content") for i in items if isinstance(i.get("content"), str)]
    assert "q299" in said and "a299" in said and "q1" not in said


def test_history_shows_the_newest_page_and_says_how_many_are_hidden(settings):
    from typer.testing import CliRunner

    from todochat.cli import app

    service = open_chat(settings)
    long_conversation(service, 150)
    ref = service.conversation_id.hex
    shown = CliRunner().invoke(app, ["history", ref])
    lines = shown.stdout.splitlines()
    assert shown.exit_code == 0 and len(lines) == 1 + 100
    assert lines[1].endswith(" you: q100") and lines[-1].endswith(" todochat: a149")
    assert "200 earlier messages hidden; --all shows every one." in shown.stderr
    few = CliRunner().invoke(app, ["history", ref, "-n", "4"]).stdout
    assert "q148" in few and "a149" in few and "a147" not in few
    everything = CliRunner().invoke(app, ["history", ref, "--all"])
    assert "answer 0" in everything.stdout and "hidden" not in everything.stderr
    later = CliRunner().invoke(app, ["history", ref, "--since", "2999-01-01"])
    assert later.exit_code == 0 and "q149" not in later.stdout
    bad = CliRunner().invoke(app, ["history", ref, "--since", "last tuesday"])
    assert bad.exit_code == 2 and "Error: --since takes a date" in bad.stderr


def test_tasks_shows_a_page_and_the_total(settings):
    from typer.testing import CliRunner

    from todochat.cli import app
    from todochat.tasks import queries as task_queries

    service = open_chat(settings)
    with service.database.session() as session:
        for n in range(1, 131):
            task_queries.add_task(session, service.user_id, f"errand {n}")
    shown = CliRunner().invoke(app, ["tasks"])
    assert shown.exit_code == 0 and len(shown.stdout.splitlines()) == 100
    assert "Showing 100 of 130 tasks; -n 0 shows every one." in shown.stderr
    few = CliRunner().invoke(app, ["tasks", "-n", "3", "--json"])
    assert [t["number"] for t in json.loads(few.stdout)] == [1, 2, 3]
    every = CliRunner().invoke(app, ["tasks", "-n", "0"])
    assert len(every.stdout.splitlines()) == 130 and "Showing" not in every.stderr


def test_plain_replies_in_a_pipe_need_no_markdown_parser(env, settings):
    import subprocess
    import sys

    from conftest import subprocess_env

    from todochat.ui.render import plain_markdown

    service = open_chat(settings)
    long_conversation(service, 5)
    script = (
        "import sys; from todochat.cli import main; sys.argv = ['todochat', 'history', "
        f"{service.conversation_id.hex!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('markdown_it' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=subprocess_env(env), capture_output=True, text=True
    )
    assert done.stdout.splitlines()[-1] == "False", done.stdout + done.stderr
    assert "todochat: a4" in done.stdout
    # The fast path gives what the parser gives, and Markdown still goes through the parser.
    for text in ("Sure, done (all 3 of them)!", "e.g. call Bob at 5 - ok?"):
        assert plain_markdown(text) == text
    assert plain_markdown("Added **#1 buy milk**.") == "Added #1 buy milk."
    assert plain_markdown("1. one\n2. two") == "1. one\n2. two"
