"""Full-text search on both backends: the query language, privacy, output, and migration m003
on a database made before it existed."""

from __future__ import annotations

import json
import time

import pytest
from app_state import make_conversation
from sqlalchemy import text
from test_cli_data import run

from todochat.db import migrations, open_database
from todochat.errors import InvalidInputError
from todochat.log import users as user_queries
from todochat.log.search import MARK_END, MARK_START, search_messages

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
SEARCH_MIGRATIONS = ("m003_search", "m006_message_owner")


@pytest.fixture
def log(env):
    url = env["DATABASE_URL"]
    make_conversation(url, "a1" + "0" * 30, ["create a task to buy groceries", "Added **#1**."])
    make_conversation(url, "b2" + "0" * 30, ["groceries are bought; buy milk", "Noted."])
    make_conversation(url, "c3" + "0" * 30, ["the grocer on main street opens at 9"])
    make_conversation(url, "d4" + "0" * 30, ["buy groceries for bob"], user="bob")
    return url


def hits(url: str, query: str, user: str = "alice") -> list[tuple[str, str]]:
    with open_database(url).session() as session:
        owner = user_queries.find_user(session, user)
        found = search_messages(session, owner.id, query)
    return [(h.short_id[:2], h.snippet) for h in found]


def test_words_phrases_and_prefixes(log):
    assert [c for c, _ in hits(log, "groceries")] == ["b2", "a1"]  # newest first
    assert [c for c, _ in hits(log, '"buy groceries"')] == ["a1"]  # a phrase, in order
    assert [c for c, _ in hits(log, "buy groceries")] == ["b2", "a1"]  # both words, anywhere
    assert [c for c, _ in hits(log, "grocer*")] == ["c3", "b2", "a1"]
    assert [c for c, _ in hits(log, '"main street" grocer*')] == ["c3"]
    assert hits(log, "nothing-like-this") == []
    [(_, snippet)] = hits(log, '"buy groceries"')
    assert f"{MARK_START}buy{MARK_END}" in snippet or f"{MARK_START}buy groceries" in snippet


@pytest.mark.parametrize(
    "query", ['"unclosed', "AND OR NOT", "NEAR(a b)", "a:b", "col:*", "x'; drop table messages; --"]
)
def test_query_syntax_of_the_engines_is_never_injected(log, query):
    hits(log, query)  # no error: every word is quoted or bound


@pytest.mark.parametrize("query", ["", "  ", '""', "*", "!?"])
def test_a_query_without_words_is_an_error(log, query):
    with pytest.raises(InvalidInputError, match="no words"):
        hits(log, query)
    result = run("search", query)
    assert (result.exit_code, result.stderr) == (
        1,
        "Error: the search query has no words to look for\n",
    )


def test_search_command_json_and_plain(log):
    result = run("search", "groceries", "--json")
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    assert [h["conversation"] for h in found] == ["b2000000", "a1000000"]
    assert set(found[0]) == {
        "conversation",
        "conversation_id",
        "message_id",
        "role",
        "created_at",
        "snippet",
    }
    assert found[0]["role"] == "user" and found[0]["created_at"].endswith("Z")
    assert "[groceries]" in found[0]["snippet"]

    plain = run("search", "grocer*", "-n", "2").stdout.splitlines()
    assert len(plain) == 2
    short, stamp, role, snippet = plain[0].split("\t")
    assert (short, role, stamp[-1]) == ("c3000000", "user", "Z")
    assert "[grocer]" in snippet


def test_search_output_has_no_markdown_markers_in_a_pipe(log):
    assert run("search", "Added").stdout.endswith("\tassistant\t[Added] #1.\n")
    assert '"snippet": "[Added] **#1**."' in run("search", "Added", "--json").stdout


def test_search_sees_only_the_callers_messages(log):
    assert [c for c, _ in hits(log, "bob")] == []
    assert [c for c, _ in hits(log, "bob", user="bob")] == ["d4"]
    assert "No messages match." in run("search", "bob").stderr


def test_new_renamed_and_deleted_messages_stay_in_step(log):
    from sqlalchemy import delete, update

    from todochat.db.models import Message

    make_conversation(log, "e5" + "0" * 30, ["pelican sightings"])
    assert [c for c, _ in hits(log, "pelican")] == ["e5"]
    with open_database(log).session() as session:
        session.execute(update(Message).where(Message.content.like("pelican%")).values(content="x"))
    assert hits(log, "pelican") == []
    with open_database(log).session() as session:
        session.execute(delete(Message).where(Message.content.like("%groceries%")))
    assert hits(log, "groceries") == []


def _m001_only(url: str, monkeypatch) -> None:
    """A database made without m003 (every other migration applied but m006, which indexes
    m003's column) and a logged message."""
    others = [m for m in migrations.MIGRATIONS if m[0] not in SEARCH_MIGRATIONS]
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", others)
        database = open_database(url)
        with database.engine.begin() as conn:
            assert migrations.migrate(conn) == [name for name, _ in others]
        make_conversation(url, "f6" + "0" * 30, [])
    with database.engine.begin() as conn:  # as the code of then logged it: no owner column
        conn.execute(
            text(
                "INSERT INTO messages (conversation_id, role, content, created_at)"
                " SELECT id, 'user', 'an old message about groceries', created_at"
                " FROM conversations"
            )
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> str:
    """An app database with no schema yet, to be brought to a past state: a new SQLite
    file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return request.getfixturevalue("fresh_pg_url")


def test_a_database_made_before_search_is_indexed_on_upgrade(empty_url, monkeypatch):
    url = empty_url
    _m001_only(url, monkeypatch)
    database = open_database(url)
    with database.engine.begin() as conn:
        assert migrations.migrate(conn) == list(SEARCH_MIGRATIONS)
    with database.engine.begin() as conn:
        assert migrations.migrate(conn) == []
    assert [c for c, _ in hits(url, "grocer*")] == ["f6"]
    make_conversation(url, "a7" + "0" * 30, ["new groceries"])
    assert [c for c, _ in hits(url, "groceries")] == ["a7", "f6"]


@pytest.mark.parametrize("window", [1, 3])
def test_the_second_pass_over_the_whole_log_finds_the_same(log, monkeypatch, window):
    """The first pass reads only the newest messages; what it misses the second finds."""
    from todochat.log import search

    monkeypatch.setattr(search, "RECENT_WINDOW", window)
    assert [c for c, _ in hits(log, "grocer*")] == ["c3", "b2", "a1"]
    assert [c for c, _ in hits(log, '"buy groceries"')] == ["a1"]


def test_a_multi_megabyte_message_is_found_promptly_with_its_match_marked(env):
    # FTS5 scores every match against every other: this message's snippet took minutes on
    # SQLite (1 MB 14 s) before snippets were made from the first 100,000 characters.
    url = env["DATABASE_URL"]
    make_conversation(url, "e5" + "0" * 30, ["buy milk and bread for the party " * 100_000])
    started = time.monotonic()
    [(short, snippet)] = hits(url, "milk")
    assert time.monotonic() - started < 30  # generous: a shared machine; bench case 11 measures
    assert short == "e5" and f"{MARK_START}milk{MARK_END}" in snippet and len(snippet) < 200


@SQLITE_ONLY
def test_a_match_past_the_first_100000_characters_shows_the_beginning(env):
    url = env["DATABASE_URL"]
    make_conversation(url, "f6" + "0" * 30, ["word " * 30_000 + "zebra"])
    assert hits(url, "zebra") == [
        ("f6", "word word word word word word word word word word word word word word word word…")
    ]


def _before_m006(url: str, monkeypatch) -> None:
    """A database every migration before m006 made, with messages the code of then logged
    (no owner on them): alice's about groceries, bob's too."""
    others = [m for m in migrations.MIGRATIONS if m[0] != "m006_message_owner"]
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", others)
        open_database(url).ensure_schema()
        make_conversation(url, "a1" + "0" * 30, [])
        make_conversation(url, "b2" + "0" * 30, [], user="bob")
    with open_database(url).engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO messages (conversation_id, role, content, created_at)"
                " SELECT id, 'user', 'buy groceries', created_at FROM conversations"
            )
        )


def test_m006_gives_every_logged_message_its_owner(empty_url, monkeypatch):
    url = empty_url
    _before_m006(url, monkeypatch)
    database = open_database(url)
    with database.engine.begin() as conn:
        assert migrations.migrate(conn) == ["m006_message_owner"]
    with database.engine.connect() as conn:
        unowned = conn.execute(
            text(
                "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                " WHERE m.user_id IS NULL OR m.user_id <> c.user_id"
            )
        ).scalar()
    assert unowned == 0
    assert [c for c, _ in hits(url, "groceries")] == ["a1"]
    assert [c for c, _ in hits(url, "groceries", user="bob")] == ["b2"]
    make_conversation(url, "c3" + "0" * 30, ["more groceries"], user="bob")  # owned on insert
    assert [c for c, _ in hits(url, "groceries", user="bob")] == ["c3", "b2"]


def _plan(url: str, user: str, query: str) -> str:
    """PostgreSQL's plan of both passes of the search (index scans preferred, as on a big log)."""
    from todochat.log import search

    captured = []
    with open_database(url).session() as db:
        owner = user_queries.find_user(db, user)
        db.execute(text("SET LOCAL enable_seqscan = off"))
        db.execute(text("SET LOCAL enable_indexscan = off"))  # not the primary key backwards

        def explain(statement, params=None, **kwargs):
            rows = original(text("EXPLAIN " + str(statement)), params, **kwargs)
            captured.extend(rows)
            return original(statement, params, **kwargs)

        original = db.scalars
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(search, "RECENT_WINDOW", 1)
            patch.setattr(db, "scalars", explain)
            search_messages(db, owner.id, query)
    return "\n".join(captured)


@pytest.mark.parametrize("app_db_url", ["postgresql"], indirect=True)
def test_postgresql_finds_the_callers_matches_in_one_index_with_the_owner(log):
    """The owner is inside the index: the pass over the whole log joins no conversation and
    filters no row it reads (the first pass walks the newest messages, by design)."""
    plan = _plan(log, "alice", "groceries")
    whole_log = plan[plan.rindex("Limit") :]
    assert "ix_messages_user_search" in whole_log
    assert "conversations" not in plan and "Filter" not in whole_log, plan


def test_without_btree_gin_m006_falls_back_to_a_btree_on_the_owner(fresh_pg_url, monkeypatch):
    """A role that may not install extensions (no CREATE on the database) still upgrades."""
    import psycopg
    from sqlalchemy.engine import make_url

    role = f"todochat_limited_{fresh_pg_url.rsplit('_', 1)[-1]}"
    plain = fresh_pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')
    limited = make_url(fresh_pg_url).set(username=role).render_as_string(hide_password=False)
    try:
        _before_m006(limited, monkeypatch)
        with open_database(limited).engine.begin() as conn:
            assert migrations.migrate(conn) == ["m006_message_owner"]
        assert [c for c, _ in hits(limited, "groceries")] == ["a1"]
        with open_database(limited).engine.connect() as conn:
            indexes = dict(
                conn.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'messages'")
                ).all()
            )
        assert "USING btree (user_id, id)" in indexes["ix_messages_user_search"]
        assert "ix_messages_search" in indexes  # m003's, which the btree needs beside it
    finally:
        open_database(limited).dispose()
        with psycopg.connect(plain, autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}" CASCADE')
            admin.execute(f'DROP ROLE "{role}"')
