"""Full-text search of messages: the index (migration m003) and the query, per backend.

PostgreSQL: a stored `tsvector` column (`to_tsvector('english', …)`) with a GIN index. SQLite: an FTS5 table
over `messages` (external content, porter stemming) kept in step by triggers. Both read
the same query language: words (all must match), "quoted phrases" and prefixes (`grocer*`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, String, Uuid, bindparam, column, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from todochat.db.models import Message, UTCDateTime
from todochat.errors import InvalidInputError
from todochat.identity import short_id
from todochat.ui.printable import MARK_END, MARK_START

# Where a match starts and ends in a snippet (`ui.printable`: the renderer replaces them).
SNIPPET_WORDS = 12
# PostgreSQL cannot hold a tsvector over 1 MB: a huge message is indexed by its beginning
# (its insert must never fail because of search).
PG_INDEXED_CHARS = 100_000
PG_DOCUMENT = "m.search_vector"

SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, content='messages',"
    " content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN"
    " INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, content)"
    " VALUES ('delete', old.id, old.content); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF content ON messages BEGIN"
    " INSERT INTO messages_fts(messages_fts, rowid, content)"
    " VALUES ('delete', old.id, old.content);"
    " INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END",
    # Index what the log already holds (a database made before this migration).
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]
# A stored column, not an index on an expression: rechecks (phrases, lossy pages) and the
# planner's walk over the newest messages for a common word then read the vector instead
# of recomputing it for every row. ANALYZE gives the planner word frequencies at once.
PG_INDEX = [
    "ALTER TABLE messages ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS"
    f" (to_tsvector('english', left(content, {PG_INDEXED_CHARS}))) STORED",
    "CREATE INDEX IF NOT EXISTS ix_messages_search ON messages USING gin (search_vector)",
    "ANALYZE messages",
]


# m006: each message's owner, copied from its conversation, inside the search index. The
# owner used to be learnt by joining every match to its conversation: a word that thousands
# of other users' messages hold read thousands of rows (PostgreSQL p95 213 ms). On
# PostgreSQL one GIN index over (user_id, search_vector) (btree_gin gives GIN the uuid)
# finds only the caller's matches, and replaces m003's index, which every search filtered
# anyway; a btree on (user_id, id) beside m003's index was measured too: ANDing the owner's
# 200,000 entries cost 16-55 ms a query. Where the extension cannot be created (no CREATE
# privilege), that btree is the fallback. FTS5 needs no index: it stops at the page.
OWNER_FILL = {
    "sqlite": "UPDATE messages SET user_id = (SELECT c.user_id FROM conversations c"
    " WHERE c.id = messages.conversation_id) WHERE user_id IS NULL",
    "postgresql": "UPDATE messages m SET user_id = c.user_id FROM conversations c"
    " WHERE c.id = m.conversation_id AND m.user_id IS NULL",
}
PG_OWNER_INDEX = "ix_messages_user_search"
PG_OWNER_GIN = [
    f"CREATE INDEX IF NOT EXISTS {PG_OWNER_INDEX} ON messages USING gin (user_id, search_vector)",
    "DROP INDEX IF EXISTS ix_messages_search",
]
PG_OWNER_BTREE = f"CREATE INDEX IF NOT EXISTS {PG_OWNER_INDEX} ON messages (user_id, id)"


def add_message_owner(conn: Connection) -> None:
    """messages.user_id for the log already there, and its index (migration m006)."""
    if "user_id" not in {c["name"] for c in conn.dialect.get_columns(conn, "messages")}:
        kind = Uuid().compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE messages ADD COLUMN user_id {kind}")
    conn.exec_driver_sql(OWNER_FILL[conn.dialect.name])
    if conn.dialect.name == "postgresql":
        _owner_index(conn)
        conn.exec_driver_sql("ANALYZE messages")


def _owner_index(conn: Connection) -> None:
    """The composite GIN index, or the btree where btree_gin cannot be installed."""
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gin")
    except DBAPIError:
        conn.exec_driver_sql(PG_OWNER_BTREE)
        return
    for statement in PG_OWNER_GIN:
        conn.exec_driver_sql(statement)


def create_search_index(conn: Connection) -> None:
    """Create the index and fill it from the messages already logged."""
    statements = SQLITE_INDEX if conn.dialect.name == "sqlite" else PG_INDEX
    for statement in statements:
        conn.exec_driver_sql(statement)


@dataclass(frozen=True)
class Term:
    kind: str  # "words" (all of them, in order), "phrase" or "prefix"
    words: tuple[str, ...]


@dataclass(frozen=True)
class SearchHit:
    message_id: int
    conversation_id: uuid.UUID
    role: str
    created_at: datetime
    snippet: str  # the match between MARK_START and MARK_END

    @property
    def short_id(self) -> str:
        return short_id(self.conversation_id)


_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_WORD = re.compile(r"[^\W_]+")


def parse_query(query: str) -> list[Term]:
    """Words, "phrases" and prefix* terms; punctuation inside a word splits it (e-mail)."""
    terms = []
    for phrase, word in _TOKEN.findall(query):
        words = tuple(_WORD.findall(phrase or word))
        if not words:
            continue
        if word.endswith("*") and len(words) == 1:
            terms.append(Term("prefix", words))
        else:
            terms.append(Term("phrase" if phrase else "words", words))
    if not terms:
        raise InvalidInputError("the search query has no words to look for")
    return terms


def search_messages(
    db: Session, user_id: uuid.UUID, query: str, limit: int = 20
) -> list[SearchHit]:
    """The user's messages matching `query`, newest first (in the order they were logged)."""
    terms = parse_query(query)
    engine = _SQLite(terms) if db.get_bind().dialect.name == "sqlite" else _Postgres(terms)
    ids = _newest_matches(db, engine, user_id, limit)
    return engine.hits(db, ids) if ids else []


# Messages the first pass looks at: a common word fills a page among these at little cost.
RECENT_WINDOW = 20_000


def _newest_matches(db: Session, engine, user_id: uuid.UUID, limit: int) -> list[int]:
    """Ids of the newest matches, in two passes with bounded costs.

    First the newest RECENT_WINDOW messages, walked from the end: a common word fills the
    page here. Only when it does not, the index over the whole log: then the words are
    rarer, so their matches are few. (One query over everything leaves the choice to the
    planner, which misjudges prefixes: a rare prefix taken for a common one walked the
    whole table.) FTS5 needs no first pass: it hands matches over newest first and stops.
    """
    if not engine.windowed:
        return engine.ids(db, user_id, limit, None)
    newest = db.scalar(select(func.max(Message.id)))
    if newest is None:
        return []
    recent = engine.ids(db, user_id, limit, newest - RECENT_WINDOW)
    if len(recent) >= limit or newest <= RECENT_WINDOW:
        return recent
    return engine.ids(db, user_id, limit, None)


def _fts5_query(terms: list[Term]) -> str:
    """An FTS5 MATCH expression: each term a quoted string (so no operator is injected)."""
    parts = []
    for term in terms:
        quoted = '"' + " ".join(term.words).replace('"', '""') + '"'
        parts.append(quoted + " *" if term.kind == "prefix" else quoted)
    return " ".join(parts)


def _pg_tsquery(terms: list[Term]) -> tuple[str, dict[str, str]]:
    """A tsquery expression over bound parameters (the text never becomes SQL)."""
    functions = {"words": "plainto_tsquery", "phrase": "phraseto_tsquery", "prefix": "to_tsquery"}
    parts, params = [], {}
    for i, term in enumerate(terms):
        value = " ".join(term.words) + (":*" if term.kind == "prefix" else "")
        params[f"t{i}"] = value
        parts.append(f"{functions[term.kind]}('english', :t{i})")
    return " && ".join(parts), params


_HIT_COLUMNS = (
    column("id", BigInteger),
    column("conversation_id", Uuid),
    column("role", String),
    column("created_at", UTCDateTime),
    column("snippet", String),
)


class _SQLite:
    """FTS5: matches come from the index in rowid (= message id) order, newest first."""

    windowed = False

    def __init__(self, terms: list[Term]):
        self.match = _fts5_query(terms)

    def ids(self, db: Session, user_id: uuid.UUID, limit: int, since: int | None):
        after = "" if since is None else " AND messages_fts.rowid > :since"
        statement = text(
            "SELECT m.id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
            f" WHERE messages_fts MATCH :q AND m.user_id = :user{after}"
            " ORDER BY messages_fts.rowid DESC LIMIT :limit"
        ).bindparams(bindparam("user", type_=Uuid))
        values = {"q": self.match, "user": user_id, "limit": limit, "since": since}
        return list(db.scalars(statement, values))

    def hits(self, db: Session, ids: list[int]) -> list[SearchHit]:
        """Snippets for the page alone (a snippet costs). FTS5 scores every match against
        every other, so a long message's snippet is made from its first PG_INDEXED_CHARS
        characters, as PostgreSQL's is (`_bounded_snippets`)."""
        values = {"q": self.match, "ids": ids, "cap": PG_INDEXED_CHARS, **SNIPPET_MARKS}
        short = db.execute(SQLITE_HITS, values).all()
        long = [i for i in ids if i not in {row.id for row in short}]
        found = short + (_bounded_snippets(db, long, values) if long else [])
        return [SearchHit(*row) for row in sorted(found, key=lambda row: -row.id)]


SNIPPET_MARKS = {"a": MARK_START, "b": MARK_END, "words": SNIPPET_WORDS}
SQLITE_HITS = (
    text(
        "SELECT m.id, m.conversation_id, m.role, m.created_at,"
        " snippet(messages_fts, 0, :a, :b, '…', :words)"
        " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
        " WHERE messages_fts MATCH :q AND messages_fts.rowid IN :ids"
        " AND length(m.content) <= :cap"
    )
    .bindparams(bindparam("ids", expanding=True))
    .columns(*_HIT_COLUMNS)
)
# The beginnings of long messages, indexed afresh (in this connection's temp schema, with
# the index's tokenizer) for their snippets alone.
SNIPPET_TABLE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_snippets USING fts5(content,"
    " tokenize='porter unicode61 remove_diacritics 2')",
    "DELETE FROM temp.search_snippets",
]
SNIPPET_SOURCE = text(
    "INSERT INTO temp.search_snippets(rowid, content)"
    " SELECT id, substr(content, 1, :cap) FROM messages WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True))
# A match past the beginning (found by the whole message's index) shows the beginning.
BOUNDED_HITS = (
    text(
        "SELECT m.id, m.conversation_id, m.role, m.created_at, coalesce("
        "(SELECT snippet(search_snippets, 0, :a, :b, '…', :words) FROM temp.search_snippets"
        " WHERE search_snippets MATCH :q AND search_snippets.rowid = m.id),"
        " (SELECT rtrim(substr(content, 1, 80)) || '…' FROM temp.search_snippets s WHERE s.rowid = m.id))"
        " FROM messages m WHERE m.id IN :ids"
    )
    .bindparams(bindparam("ids", expanding=True))
    .columns(*_HIT_COLUMNS)
)


def _bounded_snippets(db: Session, ids: list[int], values: dict) -> list:
    for statement in SNIPPET_TABLE:
        db.execute(text(statement))
    db.execute(SNIPPET_SOURCE, {"ids": ids, "cap": values["cap"]})
    rows = db.execute(BOUNDED_HITS, {**values, "ids": ids}).all()
    db.execute(text(SNIPPET_TABLE[-1]))  # no copy of the text outlives the search
    return rows


class _Postgres:
    """tsvector: the query is written out (bound words, no CTE), so the planner sees them."""

    windowed = True

    def __init__(self, terms: list[Term]):
        self.tsquery, self.params = _pg_tsquery(terms)

    def ids(self, db: Session, user_id: uuid.UUID, limit: int, since: int | None):
        # Over the whole log, `m.id + 0` keeps the planner from walking the primary key
        # backwards through every message: the GIN index finds the (rare) matches.
        key, after = ("m.id + 0", "") if since is None else ("m.id", " AND m.id > :since")
        statement = text(
            "SELECT m.id FROM messages m"
            f" WHERE m.user_id = :user AND {PG_DOCUMENT} @@ ({self.tsquery}){after}"
            f" ORDER BY {key} DESC LIMIT :limit"
        ).bindparams(bindparam("user", type_=Uuid))
        values = {**self.params, "user": user_id, "limit": limit, "since": since}
        return list(db.scalars(statement, values))

    def hits(self, db: Session, ids: list[int]) -> list[SearchHit]:
        options = (
            f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords={SNIPPET_WORDS}, MinWords=5'
        )
        statement = (
            text(
                "SELECT m.id, m.conversation_id, m.role, m.created_at,"
                f" ts_headline('english', left(m.content, {PG_INDEXED_CHARS}),"
                f" {self.tsquery}, :options)"
                " FROM messages m WHERE m.id IN :ids ORDER BY m.id DESC"
            )
            .bindparams(bindparam("ids", expanding=True))
            .columns(*_HIT_COLUMNS)
        )
        rows = db.execute(statement, {**self.params, "ids": ids, "options": options})
        return [SearchHit(*row) for row in rows]
