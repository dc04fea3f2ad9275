"""Case 11: `search` of the caller's messages in the generated log, in process, beside the
bare full-text query of the same rows (ids, newest first), on both backends.

The queries, in turn: a rare word, prefixes and a phrase of moderate frequency, two words.
Apart, without a target: `report*`, a prefix of a word in a quarter of all messages, the
worst case (SQLite's FTS5 gathers every match of a prefix before it can stop). And a word
100,000 times in one 3.3 MB message, whose snippet took minutes on SQLite (FTS5's snippet
work grows with the square of the matches) before it was made from the first 100,000
characters, as PostgreSQL's is."""

from __future__ import annotations

import re
import time

from bench.applog import QUERIES, WORST
from bench.logbench import Backend, alternate, backends, figures
from bench.report import Figure, Target
from bench.stats import summarize_ms
from bench.workspace import Workspace

NUMBER = 11
TITLE = "log search"
LIMIT = 20


def ours(backend: Backend, user_id, queries: tuple[str, ...]):
    from todochat.db import open_database
    from todochat.log.search import search_messages

    database = open_database(backend.url)

    def call(n: int) -> list[int]:
        with database.session() as session:
            hits = search_messages(session, user_id, queries[n % len(queries)], LIMIT)
        return [h.message_id for h in hits]

    return call


def bare(backend: Backend, user_id, queries: tuple[str, ...]):
    """The hand-written query; the engine's query text is made as the search makes it."""
    from todochat.log.search import _fts5_query, _pg_tsquery, parse_query

    owner = backend.uuid(user_id)

    def sqlite_call(n: int) -> list[int]:
        match = _fts5_query(parse_query(queries[n % len(queries)]))
        return [r[0] for r in backend.rows(SQLITE_BARE, match, owner, LIMIT)]

    def postgres_call(n: int) -> list[int]:
        terms = parse_query(queries[n % len(queries)])
        expression, params = _pg_tsquery(terms)
        sql = POSTGRES_BARE.replace("TSQUERY", re.sub(r":t\d+", "?", expression))
        return [r[0] for r in backend.rows(sql, *params.values(), owner, LIMIT)]

    return sqlite_call if backend.label == "sqlite" else postgres_call


SQLITE_BARE = (
    "SELECT m.id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
    " WHERE messages_fts MATCH ? AND m.user_id = ? ORDER BY messages_fts.rowid DESC LIMIT ?"
)
POSTGRES_BARE = (
    "SELECT m.id FROM messages m"
    " WHERE m.search_vector @@ (TSQUERY) AND m.user_id = ?"
    " ORDER BY m.id DESC LIMIT ?"
)


def run(ws: Workspace) -> list[Figure]:
    log = ws.app_log()
    result = [
        Figure("log conversations", log.conversations, "count"),
        Figure("log messages", log.messages, "count"),
    ]
    for label, seconds in log.index_seconds.items():
        result.append(Figure(f"index build, as on upgrade ({label})", seconds, "s"))
    with backends(ws) as all_backends:
        for backend in all_backends:
            for what, queries, target in (("search", QUERIES, 50.0), (WORST, (WORST,), None)):
                mine, base = alternate(
                    ours(backend, log.user_id, queries),
                    bare(backend, log.user_id, queries),
                    ws.scale.log_repeats if target else max(ws.scale.log_repeats // 4, 5),
                )
                result += figures(what, backend.label, mine, base, target)
            result.append(long_message(backend, max(ws.scale.log_repeats // 20, 3)))
    return result


LONG_MESSAGE = "buy milk and bread for the party " * 100_000
LONG_USER = "bench-long-message"  # its own user: the generated log's searches stay as they were


def long_message(backend: Backend, repeats: int) -> Figure:
    """Search hitting one 3.3 MB message, added for this figure and forgotten after it."""
    from todochat.db import open_database
    from todochat.log import conversations, messages, users
    from todochat.log.search import search_messages

    database = open_database(backend.url)
    with database.session() as session:
        owner = users.get_or_create_user(session, LONG_USER).id
        conversation = conversations.create_conversation(session, owner)
        messages.add_message(session, conversation.id, messages.USER, LONG_MESSAGE)
    seconds = []
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            with database.session() as session:
                found = search_messages(session, owner, "milk", LIMIT)
            seconds.append(time.perf_counter() - start)
            if len(found) != 1:
                raise AssertionError(f"the long message was found {len(found)} times")
    finally:
        with database.session() as session:
            conversations.delete_conversations(session, owner, None)
    p50 = summarize_ms(seconds)["p50"]
    return Figure(
        f"search hitting a 3.3 MB message p50 ({backend.label})", p50, "ms", Target("<=", 1000.0)
    )
