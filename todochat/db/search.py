"""Full-text search of messages: the index (migration m003) and the query, per backend.

PostgreSQL: an expression GIN index on `to_tsvector('english', …)`. SQLite: an FTS5 table
over `messages` (external content, porter stemming) kept in step by triggers. Both read
the same query language: words (all must match), "quoted phrases" and prefixes (`grocer*`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, String, Uuid, bindparam, column, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from todochat.db.models import UTCDateTime
from todochat.errors import InvalidInputError

# Where a match starts and ends in a snippet: private-use characters, never typed by
# anyone, replaced by the renderer (a style on a terminal, brackets elsewhere).
MARK_START, MARK_END = "\ue000", "\ue001"
SNIPPET_WORDS = 12
# PostgreSQL cannot hold a tsvector over 1 MB: a huge message is indexed by its beginning
# (its insert must never fail because of search).
PG_INDEXED_CHARS = 100_000
PG_DOCUMENT = f"to_tsvector('english', left(m.content, {PG_INDEXED_CHARS}))"

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
PG_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_messages_search ON messages"
    f" USING gin (to_tsvector('english', left(content, {PG_INDEXED_CHARS})))"
)


def create_search_index(conn: Connection) -> None:
    """Create the index and fill it from the messages already logged."""
    statements = SQLITE_INDEX if conn.dialect.name == "sqlite" else [PG_INDEX]
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
        return self.conversation_id.hex[:8]


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
    session: Session, user_id: uuid.UUID, query: str, limit: int = 20
) -> list[SearchHit]:
    """The user's messages matching `query`, newest first."""
    terms = parse_query(query)
    if session.get_bind().dialect.name == "sqlite":
        return _search_sqlite(session, user_id, _fts5_query(terms), limit)
    return _search_postgres(session, user_id, terms, limit)


def _fts5_query(terms: list[Term]) -> str:
    """An FTS5 MATCH expression: each term a quoted string (so no operator is injected)."""
    parts = []
    for term in terms:
        quoted = '"' + " ".join(term.words).replace('"', '""') + '"'
        parts.append(quoted + " *" if term.kind == "prefix" else quoted)
    return " ".join(parts)


_SQLITE_IDS = text(
    "SELECT m.id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
    " JOIN conversations c ON c.id = m.conversation_id"
    " WHERE messages_fts MATCH :q AND c.user_id = :user"
    " ORDER BY m.created_at DESC, m.id DESC LIMIT :limit"
).bindparams(bindparam("user", type_=Uuid))
_SQLITE_HITS = text(
    "SELECT m.id, m.conversation_id, m.role, m.created_at,"
    " snippet(messages_fts, 0, :a, :b, '…', :words)"
    " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
    " WHERE messages_fts MATCH :q AND messages_fts.rowid IN :ids"
).bindparams(bindparam("ids", expanding=True))
_HIT_COLUMNS = (
    column("id", BigInteger),
    column("conversation_id", Uuid),
    column("role", String),
    column("created_at", UTCDateTime),
    column("snippet", String),
)


def _search_sqlite(session: Session, user_id: uuid.UUID, match: str, limit: int) -> list:
    """Ids of the newest matches first, then snippets for those alone (snippets cost)."""
    ids = session.scalars(_SQLITE_IDS, {"q": match, "user": user_id, "limit": limit}).all()
    if not ids:
        return []
    marks = {"a": MARK_START, "b": MARK_END, "words": SNIPPET_WORDS}
    statement = _SQLITE_HITS.columns(*_HIT_COLUMNS)
    rows = session.execute(statement, {"q": match, "ids": ids, **marks}).all()
    return _hits(sorted(rows, key=lambda r: ids.index(r[0])))


def _pg_tsquery(terms: list[Term]) -> tuple[str, dict[str, str]]:
    """A tsquery expression over bound parameters (the text never becomes SQL)."""
    functions = {"words": "plainto_tsquery", "phrase": "phraseto_tsquery", "prefix": "to_tsquery"}
    parts, params = [], {}
    for i, term in enumerate(terms):
        value = " ".join(term.words) + (":*" if term.kind == "prefix" else "")
        params[f"t{i}"] = value
        parts.append(f"{functions[term.kind]}('english', :t{i})")
    return " && ".join(parts), params


def _search_postgres(session: Session, user_id: uuid.UUID, terms: list[Term], limit: int):
    tsquery, params = _pg_tsquery(terms)
    options = f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords={SNIPPET_WORDS}, MinWords=5'
    statement = (
        text(
            f"WITH q AS (SELECT {tsquery} AS q),"
            " hits AS (SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id, q"
            f" WHERE c.user_id = :user AND {PG_DOCUMENT} @@ q.q"
            " ORDER BY m.created_at DESC, m.id DESC LIMIT :limit)"
            " SELECT m.id, m.conversation_id, m.role, m.created_at,"
            f" ts_headline('english', left(m.content, {PG_INDEXED_CHARS}), q.q, :options)"
            " FROM hits JOIN messages m ON m.id = hits.id, q"
            " ORDER BY m.created_at DESC, m.id DESC"
        )
        .bindparams(bindparam("user", type_=Uuid))
        .columns(*_HIT_COLUMNS)
    )
    rows = session.execute(
        statement, {**params, "user": user_id, "limit": limit, "options": options}
    )
    return _hits(rows)


def _hits(rows) -> list[SearchHit]:
    return [SearchHit(*row) for row in rows]
