"""Configuration: defaults, precedence (flag > environment > .env > default), bad values."""

from __future__ import annotations

import subprocess

import pytest
from app_state import add_tasks
from conftest import TODOCHAT, imported_by, subprocess_env
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
    (
        "DATABASE_URL",
        "postgresql://me@db:port/x?sslmode=require&password=hunter2",
        "is not a database URL: 'postgresql://me@db:port/x?sslmode=require&password=***'",
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


PG_ONLY = pytest.mark.parametrize("app_db_url", ["postgresql"], indirect=True)


def with_password(url: str, password: str, port: int | None = None) -> str:
    """`url` (no password) with `password` typed in as is, unencoded, as people do."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return (
        f"postgresql://{parsed.username}:{password}@{parsed.host}:{port or parsed.port}"
        f"/{parsed.database}"
    )


@PG_ONLY
def test_a_password_holding_at_and_colon_works_and_is_never_shown(env, tmp_path):
    url = with_password(env["DATABASE_URL"], "p@ss:w0rd")  # the local server trusts us
    done = todochat_in(tmp_path, env, "tasks", DATABASE_URL=url)
    assert (done.returncode, done.stdout, done.stderr) == (0, "No open tasks.\n", "")
    done = todochat_in(tmp_path, env, "info", "--json", DATABASE_URL=url)
    assert '"database_url": "postgresql+psycopg://postgres:***@127.0.0.1:' in done.stdout
    assert "w0rd" not in done.stdout and "ss:" not in done.stdout

    closed = with_password(env["DATABASE_URL"], "se:cr@et", port=1)
    done = todochat_in(tmp_path, env, "tasks", DATABASE_URL=closed + "?password=s3cr3t")
    assert done.returncode == 1 and done.stderr.startswith("Error: cannot open the app database")
    assert len(done.stderr.splitlines()) == 1
    for part in ("se:cr", "cr@et", "s3cr3t"):
        assert part not in done.stdout + done.stderr


def authorizations(server) -> list[str]:
    return [r.headers.get("authorization", "") for r in server.requests]


@SQLITE_ONLY
def test_a_base_url_from_dot_env_never_gets_the_key_of_the_environment(env, tmp_path):
    from openai_server import OpenAIServer

    dot_env = tmp_path / ".env"
    with OpenAIServer() as server:
        dot_env.write_text(f"OPENAI_BASE_URL={server.base_url}\nTODOCHAT_MODEL=m\n")
        key = {"OPENAI_API_KEY": "sk-from-env", "TODOCHAT_MODEL": None}
        done = todochat_in(tmp_path, env, "chat", "-m", "hello", **key)
        assert (done.returncode, done.stdout) == (0, "You said: hello\n")
        assert done.stderr == (
            f"Note: {dot_env} sets OPENAI_BASE_URL={server.base_url}; OPENAI_API_KEY from "
            "your environment is not sent there (set the key in that .env too, or "
            "TODOCHAT_TRUST_DOTENV=1 in your environment).\n"
        )
        assert authorizations(server) == ["Bearer not-needed"]

        dot_env.write_text(dot_env.read_text() + "TODOCHAT_TRUST_DOTENV=1\n")  # not by itself
        assert todochat_in(tmp_path, env, "chat", "-m", "again", **key).returncode == 0
        assert authorizations(server)[-1] == "Bearer not-needed"

        trusted = todochat_in(tmp_path, env, "chat", "-m", "hi", TODOCHAT_TRUST_DOTENV="1", **key)
        assert trusted.stderr == f"Note: {dot_env} sets OPENAI_BASE_URL={server.base_url}.\n"
        assert authorizations(server)[-1] == "Bearer sk-from-env"

        own = f"OPENAI_BASE_URL={server.base_url}\nOPENAI_API_KEY=sk-of-that-server\n"
        dot_env.write_text(own + "TODOCHAT_MODEL=m\n")  # the .env brings its own key: it goes
        done = todochat_in(tmp_path, env, "chat", "-m", "hey", **{**key, "OPENAI_API_KEY": None})
        assert done.returncode == 0
        assert authorizations(server)[-1] == "Bearer sk-of-that-server"
        # ...but a key in the environment wins over the file's, so it is withheld again
        done = todochat_in(tmp_path, env, "chat", "-m", "hey", **key)
        assert (done.returncode, authorizations(server)[-1]) == (0, "Bearer not-needed")


def test_the_data_dir_follows_xdg_then_home():
    assert load_settings({"XDG_DATA_HOME": "/x/share"}).data_dir == "/x/share/todochat"
    home = {"HOME": "/home/ann", "XDG_DATA_HOME": "relative/is/ignored"}
    assert load_settings(home).data_dir == "/home/ann/.local/share/todochat"
    moved = load_settings({"TODOCHAT_DATA_DIR": "/srv/todo", "XDG_DATA_HOME": "/x"})
    assert moved.data_dir == "/srv/todo"


@SQLITE_ONLY
def test_data_lives_in_the_user_data_dir_not_the_current_directory(env, tmp_path):
    work, xdg = tmp_path / "work", tmp_path / "xdg"
    work.mkdir()
    where = {"TODOCHAT_DATA_DIR": None, "DATABASE_URL": None, "XDG_DATA_HOME": str(xdg)}
    done = todochat_in(work, env, "chat", "-m", "create a task to buy milk", **where)
    assert (done.returncode, done.stderr) == (0, "")
    assert list(work.iterdir()) == []
    assert (xdg / "todochat" / "todochat.db").is_file()
    done = todochat_in(tmp_path, env, "tasks", **where)  # from another directory: same data
    assert done.stdout == "1\topen\tbuy milk\t\t\t\n"

    at_home = {**where, "XDG_DATA_HOME": None, "HOME": str(tmp_path / "home")}
    assert todochat_in(work, env, "tasks", **at_home).stdout == "No open tasks.\n"
    assert (tmp_path / "home" / ".local" / "share" / "todochat" / "todochat.db").is_file()


@SQLITE_ONLY
def test_an_earlier_versions_data_dir_is_named_with_how_to_move_it_never_moved(env, tmp_path):
    import sqlite3
    from contextlib import closing

    old = tmp_path / "data"
    old.mkdir()
    with closing(sqlite3.connect(old / "todochat.db")) as conn:
        conn.execute("CREATE TABLE t (x)")
    new = tmp_path / "xdg" / "todochat"
    where = {"TODOCHAT_DATA_DIR": None, "DATABASE_URL": None, "XDG_DATA_HOME": str(new.parent)}
    done = todochat_in(tmp_path, env, "tasks", **where)
    assert (done.returncode, done.stdout) == (0, "No open tasks.\n")
    assert done.stderr == (
        f"Note: {old} holds data of an earlier todochat, which kept it in the current "
        f"directory; this one uses {new}. Move it with `mkdir -p {new.parent} && mv {old} "
        f"{new}`, or keep it there with TODOCHAT_DATA_DIR={old}.\n"
    )
    assert sorted(p.name for p in old.iterdir()) == ["todochat.db"]
    again = todochat_in(tmp_path, env, "tasks", **where)
    assert f"Move it with `mv -n {old}/* {new}/`" in again.stderr  # the new dir exists now
    (tmp_path / ".env").write_text(f"TODOCHAT_DATA_DIR={old}\n")  # kept where it was
    kept = todochat_in(tmp_path, env, "tasks", **where)
    assert (kept.returncode, kept.stderr) == (0, "")


@SQLITE_ONLY
def test_info_shows_where_everything_is(env, tmp_path):
    import json

    (tmp_path / ".env").write_text("TODOCHAT_USER=bob\n")
    data = env["TODOCHAT_DATA_DIR"]
    url = "postgresql://me:hunter2@db.example/todo?sslmode=require&password=hunter2"
    done = todochat_in(tmp_path, env, "info", TODOCHAT_USER=None, DATABASE_URL=url)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "User:           bob\n"
        f"Data directory: {data}\n"
        "App database:   postgresql+psycopg://me:***@db.example/todo?sslmode=require&password=***\n"
        f"Agent memory:   {data}/agent_sessions.db\n"
        f"Input history:  {data}/history/bob\n"
        f".env loaded:    {tmp_path / '.env'} (sets TODOCHAT_USER)\n"
        "Model:          offline\n"
        "API key:        none\n"
    )
    assert not (tmp_path / "data").exists() and not __import__("os").path.exists(data)
    done = todochat_in(tmp_path, env, "info", "--json", "--user", "ann")
    found = json.loads(done.stdout)
    assert (found["user"], found["history_file"]) == ("ann", f"{data}/history/ann")
    assert set(found) == {
        "user", "data_dir", "database_url", "memory_file", "history_file", "dotenv",
        "dotenv_keys", "model", "api_key", "earlier_data_dir",
    }  # fmt: skip


@SQLITE_ONLY
def test_info_starts_fast_importing_no_store_and_no_sdk(env, tmp_path):
    imported = imported_by(env, "info", cwd=tmp_path)
    heavy = ("agents", "openai", "sqlalchemy", "prompt_toolkit", "psycopg")
    assert {m for m in imported if m.split(".")[0] in heavy} == set()
    assert "todochat.app" in imported  # the core answered
