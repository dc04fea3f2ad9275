"""A generated app database (the durable log) for the search and listing cases, on both backends.

Ten users share the conversations; the benchmark's user, `bench`, owns a tenth of them and
one long conversation. Message texts come from a pool of sentences over a fixed vocabulary
with planted words of known frequency, so every query below finds a known share of rows.
The log is written with the search index dropped and the index is then built by the same
code as migration m003 (what an upgrade of an existing database does).
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.scale import Scale

USERS = 10
BENCH_USER = "bench"
POOL = 20_000  # distinct message texts
# Planted words and the share of messages that hold them.
PLANTED = {"pelican": 0.0002, "invoice": 0.002, "groceries": 0.01, "dentist": 0.005}
QUERIES = ("pelican", "invoice*", "grocer*", '"buy groceries"', "dentist appointment")
WORST = "report*"  # a prefix of a word in a quarter of all messages
WORDS = [
    "task",
    "list",
    "today",
    "tomorrow",
    "week",
    "call",
    "email",
    "meeting",
    "project",
    "review",
    "plan",
    "write",
    "send",
    "check",
    "update",
    "notes",
    "milk",
    "bread",
    "coffee",
    "rent",
    "bills",
    "gym",
    "run",
    "book",
    "flight",
    "hotel",
    "car",
    "repair",
    "garden",
    "water",
    "plants",
    "clean",
    "kitchen",
    "laundry",
    "report",
    "draft",
    "budget",
    "team",
    "lunch",
    "dinner",
    "family",
    "friend",
    "birthday",
    "gift",
    "order",
    "pick",
    "up",
    "drop",
    "off",
    "schedule",
    "remind",
    "later",
    "soon",
    "morning",
    "evening",
    "buy",
    "pay",
]


@dataclass(frozen=True)
class AppLog:
    sqlite_url: str
    postgres_url: str
    user_id: uuid.UUID
    long_conversation: uuid.UUID
    messages: int
    conversations: int
    index_seconds: dict  # backend: seconds to build the search index over the whole log


def texts(rng: random.Random) -> list[str]:
    """The pool of message texts, planted words at their shares."""
    pool = []
    for _ in range(POOL):
        words = rng.choices(WORDS, k=rng.randint(6, 24))
        for word, share in PLANTED.items():
            if rng.random() < share:
                words.insert(rng.randrange(len(words)), word)
        if "groceries" in words and rng.random() < 0.3:
            words.insert(words.index("groceries"), "buy")
        if "dentist" in words:
            words.insert(words.index("dentist") + 1, "appointment")
        pool.append(" ".join(words))
    return pool


def layout(scale: Scale, rng: random.Random) -> list[tuple[uuid.UUID, uuid.UUID, int]]:
    """(conversation id, owner id, message count) for every conversation; the first is the
    long one, and the counts add up to the scale's message total."""
    from todochat.identity import user_id_for

    owners = [user_id_for(BENCH_USER)] + [user_id_for(f"user{i}") for i in range(1, USERS)]
    rest = scale.app_messages - scale.long_conversation
    others = scale.app_conversations - 1
    counts = [rest // others + (1 if i < rest % others else 0) for i in range(others)]
    rng.shuffle(counts)
    conversations = [(uuid.UUID(int=rng.getrandbits(128)), owners[0], scale.long_conversation)]
    conversations += [
        (uuid.UUID(int=rng.getrandbits(128)), owners[i % USERS], n) for i, n in enumerate(counts)
    ]
    return conversations


def rows(scale: Scale):
    """(users, conversations, messages) rows in the order a year of chatting wrote them."""
    from todochat.identity import user_id_for

    rng = random.Random(11)
    pool = texts(rng)
    plan = layout(scale, rng)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    step = timedelta(days=365) / scale.app_messages
    users = [
        (user_id_for(n), n, start) for n in [BENCH_USER] + [f"user{i}" for i in range(1, USERS)]
    ]
    conversations, messages, clock, next_id = [], [], start, 1
    for conversation_id, owner, count in plan:
        first = clock
        for n in range(count):
            role = "user" if n % 2 == 0 else "assistant"
            messages.append((next_id, conversation_id, role, rng.choice(pool), clock, owner))
            next_id += 1
            clock += step
        title = messages[-count][3][:60]
        conversations.append((conversation_id, owner, title, first, clock))
    return users, conversations, messages


def generate(scale: Scale, sqlite_url: str, postgres_url: str) -> AppLog:
    from todochat.identity import user_id_for

    users, conversations, messages = rows(scale)
    index_seconds = {
        "sqlite": _fill_sqlite(sqlite_url, users, conversations, messages),
        "postgresql": _fill_postgres(postgres_url, users, conversations, messages),
    }
    return AppLog(
        sqlite_url,
        postgres_url,
        user_id_for(BENCH_USER),
        conversations[0][0],
        len(messages),
        len(conversations),
        index_seconds,
    )


def _schema(url: str) -> None:
    from todochat.db import open_database

    open_database(url).ensure_schema()


def _fill_sqlite(url: str, users, conversations, messages) -> float:
    """Write the log, then build the index as m003 and m006 do; the seconds it took."""
    import sqlite3
    from contextlib import closing

    from todochat.log.search import add_message_owner, create_search_index

    _schema(url)
    stamp = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn, conn:
        for trigger in ("insert", "delete", "update"):
            conn.execute(f"DROP TRIGGER IF EXISTS messages_fts_{trigger}")
        conn.execute("DROP TABLE IF EXISTS messages_fts")
        conn.executemany(
            "INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)",
            [(u.hex, n, t.strftime(stamp)) for u, n, t in users],
        )
        conn.executemany(
            "INSERT INTO conversations (id, user_id, title, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (c.hex, o.hex, title, a.strftime(stamp), b.strftime(stamp))
                for c, o, title, a, b in conversations
            ],
        )
        conn.executemany(
            "INSERT INTO messages (id, conversation_id, role, content, created_at, user_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ((i, c.hex, r, text, t.strftime(stamp), o.hex) for i, c, r, text, t, o in messages),
        )
    from todochat.db import open_database

    start = time.perf_counter()
    with open_database(url).engine.begin() as conn:
        create_search_index(conn)
        add_message_owner(conn)
    elapsed = time.perf_counter() - start
    with open_database(url).engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return elapsed


def _fill_postgres(url: str, users, conversations, messages) -> float:
    from todochat.db import open_database
    from todochat.log.search import add_message_owner, create_search_index

    _schema(url)
    engine = open_database(url).engine
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_messages_search")
        conn.exec_driver_sql("ALTER TABLE messages DROP COLUMN IF EXISTS search_vector")
        cursor = conn.connection.driver_connection.cursor()
        _copy(cursor, "users (id, name, created_at)", users)
        _copy(cursor, "conversations (id, user_id, title, created_at, updated_at)", conversations)
        _copy(
            cursor, "messages (id, conversation_id, role, content, created_at, user_id)", messages
        )
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('messages', 'id'), (SELECT max(id) FROM messages))"
        )
    start = time.perf_counter()
    with engine.begin() as conn:  # as m003 and m006 do, with the server's default settings
        create_search_index(conn)
        add_message_owner(conn)
    elapsed = time.perf_counter() - start
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    return elapsed


def _copy(cursor, target: str, records) -> None:
    with cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for record in records:
            copy.write_row(record)
