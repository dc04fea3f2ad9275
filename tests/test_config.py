"""Configuration: defaults, precedence (flag > environment > .env > default), bad values."""

from __future__ import annotations

import subprocess

import pytest
from app_state import add_tasks
from conftest import TODOCHAT, subprocess_env
from typer.testing import CliRunner

from todochat.cli import app
from todochat.config import load_settings
from todochat.errors import ConfigError

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)

BAD_VALUES = [
    ("AGENT_SESSION_MAX_MESSAGES", "lots", "must be a whole number, got 'lots'"),
    ("AGENT_SESSION_MAX_MESSAGES", "-5", "must be between 2 and 100000, got -5"),
    ("AGENT_SESSION_RETENTION_DAYS", "-1", "must be between 0 and 36500, got -1"),
    ("AGENT_SESSION_RETENTION_DAYS", "7.5", "must be a whole number, got '7.5'"),
    ("AGENT_SESSION_CLEANUP_HOUR", "24", "must be between 0 and 23, got 24"),
    ("AGENT_SESSION_CLEANUP_HOUR", "-1", "must be between 0 and 23, got -1"),
    ("DATABASE_URL", "not a url", "is not a database URL: 'not a url'"),
    (
        "DATABASE_URL",
        "postgresql://me:hunter2@db:port/x",
        "is not a database URL: 'postgresql://me:***@db:port/x'",
    ),
    ("DATABASE_URL", "mysql://db/x", "must be a postgresql:// or sqlite:/// URL, got 'mysql'"),
    ("TODOCHAT_OPENAI_API", "sk-pasted-here", "must be one of responses, chat_completions"),
    ("TODOCHAT_TRACING", "maybe", "must be true or false, got 'maybe'"),
    ("OPENAI_BASE_URL", "sk-pasted-here", "must start with http:// or https://"),
]


def test_defaults_keep_all_state_under_the_data_dir():
    settings = load_settings({"TODOCHAT_DATA_DIR": "/srv/todo", "TODOCHAT_USER": "ann"})
    assert settings.database_url == "sqlite:////srv/todo/todochat.db"
    assert settings.agent_session_db_path == "/srv/todo/agent_sessions.db"
    assert settings.history_file == "/srv/todo/history/ann"  # one per user
    assert (
        settings.agent_session_max_messages,
        settings.agent_session_retention_days,
        settings.agent_session_cleanup_hour,
    ) == (200, 7, 2)
    assert (settings.model, settings.openai_api, settings.tracing) == (
        "offline",
        "responses",
        False,
    )


def test_model_and_api_follow_the_key_and_base_url():
    with_key = load_settings({"OPENAI_API_KEY": "sk-x"})
    assert (with_key.model, with_key.openai_api) == ("gpt-5-mini", "responses")
    local = load_settings({"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1", "TODOCHAT_MODEL": "m"})
    assert (local.model, local.openai_api) == ("m", "chat_completions")
    assert "sk-x" not in repr(with_key)


def test_postgres_urls_are_driven_by_psycopg_3():
    for url in ("postgres://u@h/db", "postgresql://u@h/db", "postgresql+psycopg://u@h/db"):
        assert load_settings({"DATABASE_URL": url}).database_url == "postgresql+psycopg://u@h/db"


def test_flags_win_over_the_environment():
    settings = load_settings(
        {"TODOCHAT_USER": "ann", "TODOCHAT_MODEL": "x"}, {"user": "bob", "model": None}
    )
    assert (settings.user, settings.model) == ("bob", "x")


@pytest.mark.parametrize(("key", "value", "message"), BAD_VALUES)
def test_a_bad_value_names_its_key(key, value, message):
    with pytest.raises(ConfigError) as raised:
        load_settings({key: value})
    assert str(raised.value) == f"{key} {message}"
    assert raised.value.exit_code == 2


@SQLITE_ONLY
@pytest.mark.parametrize(("key", "value", "message"), BAD_VALUES)
@pytest.mark.parametrize("command", [["tasks"], ["chat", "-m", "hi"]])
def test_a_bad_value_in_the_environment_is_one_error_line(
    env, monkeypatch, command, key, value, message
):
    monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, command)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: {key} {message}\n")


def todochat_in(directory, env, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run the real entry point in `directory` (where it reads `.env`)."""
    child = subprocess_env(env, **extra)
    for key in [k for k, v in extra.items() if v is None]:
        child.pop(key)
    return subprocess.run(
        TODOCHAT + list(args), cwd=directory, env=child, capture_output=True, text=True, timeout=30
    )


@SQLITE_ONLY
def test_a_bad_value_in_dot_env_is_one_error_line(env, tmp_path):
    (tmp_path / ".env").write_text("# local settings\nAGENT_SESSION_CLEANUP_HOUR=24\n")
    done = todochat_in(tmp_path, env, "tasks")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "Error: AGENT_SESSION_CLEANUP_HOUR must be between 0 and 23, got 24\n"


@SQLITE_ONLY
def test_the_environment_wins_over_dot_env(env, tmp_path):
    (tmp_path / ".env").write_text("AGENT_SESSION_CLEANUP_HOUR=24\nTODOCHAT_USER=bob\n")
    add_tasks(env["DATABASE_URL"], ["bob's task"], user="bob")
    # The environment's valid hour wins over the bad one; .env supplies the missing user.
    done = todochat_in(tmp_path, env, "tasks", AGENT_SESSION_CLEANUP_HOUR="3", TODOCHAT_USER=None)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "1\topen\tbob's task\t\t\t\n"  # a pipe: plain lines


def test_the_model_label_hides_credentials_in_the_base_url():
    from todochat.agent.models import describe_model

    settings = load_settings(
        {"OPENAI_BASE_URL": "https://me:pw@llm.example/v1?api_key=sk-1", "TODOCHAT_MODEL": "m"}
    )
    assert describe_model(settings) == "m @ https://llm.example/v1"
