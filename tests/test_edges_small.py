"""Small edges, each a clear line: help examples, usage errors, limits, wording."""

from __future__ import annotations

import pytest
from app_state import open_chat
from terminal import Terminal
from typer.testing import CliRunner

from todochat.cli import app

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)


def cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_cleanup_help_shows_the_crontab_line_that_keeps_existing_entries():
    shown = cli("cleanup", "--help").stdout
    assert "( crontab -l 2>/dev/null; todochat cleanup --print-cron ) | crontab -\n" in shown
    assert "--print-cron | crontab" not in shown  # that form wipes the user's crontab


@pytest.mark.parametrize("command", [[], ["sessions"]])
def test_top_level_and_sessions_help_have_an_example(command):
    assert "Example: todochat " in cli(*command, "--help").stdout


@SQLITE_ONLY
def test_a_bad_openai_api_value_is_named_not_echoed(env, monkeypatch):
    monkeypatch.setenv("TODOCHAT_OPENAI_API", "sk-proj-pasted-key")
    result = cli("tasks")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: TODOCHAT_OPENAI_API must be one of responses, chat_completions\n"
    )


def test_an_unknown_option_suggests_only_a_near_miss():
    bogus = cli("chat", "--bogus")
    assert bogus.exit_code == 2
    assert "No such option: --bogus" in bogus.stderr and "--user" not in bogus.stderr
    assert "(Possible options: --user)" in cli("chat", "--usr").stderr


@SQLITE_ONLY
def test_empty_task_lists_and_blank_arguments_say_so_clearly(env):
    assert cli("tasks", "--all").stdout == "No tasks.\n"
    assert cli("tasks", "--done").stdout == "No completed tasks.\n"
    blank = cli("history", "")
    assert blank.exit_code == 2
    assert blank.stderr.startswith("Error: CONVERSATION is blank: give a conversation id")
    prune = cli("sessions", "prune")
    assert prune.exit_code == 2
    assert "--all" in prune.stderr and prune.stderr.startswith("Error: ")


@SQLITE_ONLY
def test_task_title_and_notes_limits_are_in_the_tool_descriptions_and_errors(settings):
    from todochat.agent.todo_agent import add_task, update_task
    from todochat.errors import InvalidInputError
    from todochat.tasks import queries as task_queries

    for tool in (add_task, update_task):
        fields = tool.params_json_schema["properties"]
        assert f"at most {task_queries.TITLE_LENGTH} characters" in fields["title"]["description"]
        assert f"{task_queries.NOTES_LENGTH} characters" in fields["notes"]["description"]
    service = open_chat(settings)
    with service.database.session() as session, pytest.raises(InvalidInputError) as raised:
        task_queries.add_task(session, service.user_id, "plan", "n" * 5_000_000)
    assert str(raised.value) == "task notes are at most 2000 characters (these are 5000000)"
    with service.database.session() as session:
        task_queries.add_task(session, service.user_id, "plan", "n" * 1990)
    with service.database.session() as session, pytest.raises(InvalidInputError):
        task_queries.update_task(session, service.user_id, 1, append_notes="more than ten")


@SQLITE_ONLY
def test_slash_commands_refuse_arguments_they_do_not_take(env):
    term = Terminal(env, "chat")
    try:
        term.prompt()
        # /tasks takes a list's name since issue 19 (`/tasks shopping`); two page numbers it
        # still refuses.
        assert "Error: /tasks takes all or done, a list and a page number, not '1 2'" in term.line(
            "/tasks 1 2"
        )
        assert "Error: /history takes no arguments" in term.line("/history extra")
        assert term.exit_status() == 0
    finally:
        term.close()
