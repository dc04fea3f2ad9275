"""Real databases for every test: a fresh PostgreSQL database per run, SQLite files per test.

PostgreSQL comes from TODOCHAT_TEST_DATABASE_URL (a server where the user may create
databases) or the local server on 127.0.0.1:5432. If it cannot be reached the run fails,
saying how to provide one: the PostgreSQL half of the suite is never silently skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from todochat.config import Settings, load_settings, reset_settings

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
APP_TABLES = "api_tokens, task_changes, messages, tasks, conversations, users"
REPO = Path(__file__).resolve().parent.parent


def _admin_connect(url: str):
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        return psycopg.connect(plain, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        pytest.fail(
            f"PostgreSQL is unreachable at {plain} ({detail}). Start the local server "
            "(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set "
            "TODOCHAT_TEST_DATABASE_URL=postgresql://USER@HOST:PORT/DBNAME to a server where "
            "USER may create databases.",
            pytrace=False,
        )


@pytest.fixture(scope="session", autouse=True)
def private_data_home(tmp_path_factory) -> Iterator[Path]:
    """Default data dirs (`$XDG_DATA_HOME/todochat`) under the run's temporary directory: a
    test that sets no TODOCHAT_DATA_DIR never writes into the real home (CI runs as root)."""
    home = tmp_path_factory.mktemp("xdg-data")
    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(home)
    yield home
    if saved is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = saved


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database created for this test run and dropped after it."""
    from sqlalchemy.engine import make_url

    server = os.environ.get("TODOCHAT_TEST_DATABASE_URL") or DEFAULT_SERVER
    name = f"todochat_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _admin_connect(server)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        from todochat.db.engine import close_all

        close_all()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def app_db_url(request, tmp_path) -> str:
    """The app database, once on a SQLite file and once on the run's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def pg_url(postgres_url) -> str:
    """The run's PostgreSQL database, emptied for this test."""
    _empty_postgres(postgres_url)
    return postgres_url


def _empty_postgres(url: str) -> None:
    from sqlalchemy import text

    from todochat.db import open_database

    database = open_database(url)
    database.ensure_schema()
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {APP_TABLES} RESTART IDENTITY CASCADE"))


@pytest.fixture
def env(tmp_path, app_db_url, monkeypatch) -> dict[str, str]:
    """The environment a todochat process runs with: all state under tmp_path, offline model."""
    values = {
        "TODOCHAT_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": app_db_url,
        "TODOCHAT_USER": "alice",
        "TODOCHAT_MODEL": "offline",
    }
    for key in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "AGENT_SESSION_DB_PATH",
        "TODOCHAT_OPENAI_API",
        "AGENT_SESSION_MAX_MESSAGES",
        "AGENT_SESSION_RETENTION_DAYS",
        "TODOCHAT_TRACING",
        "AGENT_SESSION_CLEANUP_HOUR",
        "TODOCHAT_HISTORY_FILE",
        "TODOCHAT_TIMEZONE",
        "TODOCHAT_TRUST_DOTENV",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    yield values
    reset_settings()


@pytest.fixture
def settings(env) -> Settings:
    return load_settings()


def subprocess_env(env: dict[str, str], **extra: str) -> dict[str, str]:
    """A child's environment: this one, minus any real key, plus the test's values."""
    child = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    child.update(env)
    child.update(extra)
    child["PYTHONUNBUFFERED"] = "1"
    return child


TODOCHAT = [sys.executable, "-m", "todochat"]


@pytest.fixture
def fresh_pg_url(postgres_url) -> Iterator[str]:
    """Another PostgreSQL database, empty (no schema at all), dropped after the test."""
    from sqlalchemy.engine import make_url

    from todochat.db.engine import open_database

    server = os.environ.get("TODOCHAT_TEST_DATABASE_URL") or DEFAULT_SERVER
    name = f"todochat_fresh_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _admin_connect(server)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        open_database(url).dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def imported_by(env: dict[str, str], *args: str, cwd=None, **extra: str) -> set[str]:
    """The modules `todochat ARGS` loads (`-X importtime`), once it has exited 0: what the
    start-up tests check (an admin command never loads the SDK, say)."""
    done = subprocess.run(
        [TODOCHAT[0], "-X", "importtime", *TODOCHAT[1:], *args],
        cwd=cwd,
        env=subprocess_env(env, **extra),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
