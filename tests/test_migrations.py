"""Migrations: m002 brings a database made by the m001 code forward, data kept, on both
backends and under concurrent first starts; a fresh database ends with the models' schema."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import DEFAULT_SERVER, _admin_connect
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from todochat.db import open_database
from todochat.db.migrations import MIGRATIONS
from todochat.db.models import Base
from todochat.log import users as user_queries
from todochat.tasks import queries as task_queries

FIXTURES = Path(__file__).parent / "fixtures"
START = (
    "import sys; from todochat.db import open_database; open_database(sys.argv[1]).ensure_schema()"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path):
    """A copy of the m001 fixture: an SQLite file, or a PostgreSQL database loaded from SQL."""
    if request.param == "sqlite":
        shutil.copy(FIXTURES / "m001.sqlite", tmp_path / "old.db")
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server = os.environ.get("TODOCHAT_TEST_DATABASE_URL") or DEFAULT_SERVER
    name = f"todochat_m001_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _admin_connect(server)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(drivername="postgresql+psycopg", database=name)
    rendered = url.render_as_string(hide_password=False)
    try:
        # Its own connection, as a restore is: the dump empties search_path for the session.
        with _admin_connect(rendered) as loader:
            loader.execute((FIXTURES / "m001.postgresql.sql").read_text())
        yield rendered
    finally:
        open_database(rendered).dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def applied(url: str) -> list[str]:
    with open_database(url).engine.connect() as conn:
        return (
            conn.execute(text("SELECT name FROM schema_migrations ORDER BY name")).scalars().all()
        )


def test_concurrent_first_starts_upgrade_an_m001_database_once_with_its_data(old_database):
    assert applied(old_database) == ["m001_initial"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", START, old_database], stderr=subprocess.PIPE, text=True
        )
        for _ in range(5)
    ]
    assert [p.stderr.read() for p in procs if p.wait(timeout=60) != 0] == []
    assert applied(old_database) == [name for name, _ in MIGRATIONS]

    database = open_database(old_database)
    with database.session() as session:
        alice = user_queries.find_user(session, "alice")
        kept = task_queries.list_tasks(session, alice.id, "all")
        assert [(t.number, t.title, t.notes, t.done) for t in kept] == [
            (1, "buy groceries", "milk; eggs", False),
            (2, "pay rent", "", True),
            (4, "water plants", "", False),
        ]
        assert {(t.due_on, t.due_at, t.priority) for t in kept} == {(None, None, None)}
        assert task_queries.add_task(session, alice.id, "new").number == 5
        bob = user_queries.find_user(session, "bob")
        assert task_queries.add_task(session, bob.id, "new").number == 2
    with database.engine.connect() as conn:
        said = conn.execute(text("SELECT content FROM messages ORDER BY id")).scalars().all()
    assert said == ["create a task to buy groceries", "Added task #1 buy groceries [open]"]
    assert _schema(old_database) == _models(old_database)


def test_a_fresh_database_has_the_models_schema(app_db_url):
    """m001 is frozen and the later ones add the rest: together they are what the models
    describe, plus the search index m003 keeps beside them (a column and its index on
    PostgreSQL; FTS5 tables of its own on SQLite)."""
    assert _schema(app_db_url) == _models(app_db_url)
    assert applied(app_db_url) == [name for name, _ in MIGRATIONS]


def _schema(url: str) -> dict[str, tuple[set[str], set[str]]]:
    database = open_database(url)
    database.ensure_schema()
    found = inspect(database.engine)
    return {
        name: ({c["name"] for c in found.get_columns(name)}, _indexes(database, found, name))
        for name in Base.metadata.tables
    }


def _indexes(database, found, table: str) -> set[str]:
    if database.engine.dialect.name == "sqlite":
        # SQLAlchemy skips SQLite's indexes on expressions (m005's); the catalog lists them.
        # A unique constraint's own index has no SQL of its own there.
        with database.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                " AND sql IS NOT NULL",
                (table,),
            )
            return {name for (name,) in rows}
    # PostgreSQL lists a unique constraint's index too; the models name only indexes.
    return {i["name"] for i in found.get_indexes(table) if "duplicates_constraint" not in i}


def _models(url: str) -> dict[str, tuple[set[str], set[str]]]:
    """What the models describe, plus the search index m003 keeps beside them on PostgreSQL
    (a column and its index; on SQLite its FTS5 tables are tables of their own)."""
    found = {
        name: ({c.name for c in table.columns}, {i.name for i in table.indexes})
        for name, table in Base.metadata.tables.items()
    }
    if url.startswith("postgresql"):
        columns, indexes = found["messages"]
        found["messages"] = (columns | {"search_vector"}, indexes | {"ix_messages_user_search"})
    return found


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_first_starts_add_the_pressing_index_to_a_database_made_before_it(
    backend, tmp_path, monkeypatch, request
):
    """m005 on a database every earlier migration made, with tasks in it: five processes
    starting at once add the index once, and the tasks are listed as before."""
    from todochat.db import migrations

    url = (
        f"sqlite:///{tmp_path / 'old.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("fresh_pg_url")
    )
    earlier = [m for m in MIGRATIONS if m[0] != "m005_pressing_tasks"]
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", earlier)
        database = open_database(url)
        with database.session() as session:
            alice = user_queries.get_or_create_user(session, "alice")
            for title in ("first", "second", "third"):
                task_queries.add_task(session, alice.id, title)
    assert "ix_tasks_user_pressing" not in _indexes(database, inspect(database.engine), "tasks")
    database.dispose()

    procs = [
        subprocess.Popen([sys.executable, "-c", START, url], stderr=subprocess.PIPE, text=True)
        for _ in range(5)
    ]
    assert [p.stderr.read() for p in procs if p.wait(timeout=60) != 0] == []
    assert applied(url) == sorted(name for name, _ in MIGRATIONS)
    assert "ix_tasks_user_pressing" in _indexes(database, inspect(database.engine), "tasks")
    with database.session() as session:
        rows, total = task_queries.pressing_open_tasks(session, alice.id, 2)
    assert ([row.title for row in rows], total) == (["third", "second"], 3)


def test_m010_marks_a_clear_made_before_it_by_the_newest_message_of_then(old_database):
    """A clear recorded by its time only, that of the first message (the second is later):
    the rebuild still starts after message 1."""
    from sqlalchemy import select

    from todochat.db.models import Conversation

    first = "(SELECT created_at FROM messages WHERE id = 1)"
    with open_database(old_database).engine.begin() as conn:
        conn.execute(text(f"UPDATE conversations SET memory_reset_at = {first}"))
    database = open_database(old_database)
    with database.session() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert (conversation.memory_reset_id, conversation.memory_reset_at is not None) == (1, True)
    assert "m010_reset_by_id" in applied(old_database)
