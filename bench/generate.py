"""Fill an agent-memory file with N sessions of M items, `updated_at` spread over 14 days.

The file is created through the app's own `get_agent_session` (so it gets whatever pragmas
and indexes the app gives a new file), then filled with plain SQL in large transactions.
Rows are written in the order of time, as a real file is: sessions are taken in order of
last activity, in groups of sessions active at about the same time, one turn per session per
round, so a session's rows are interleaved with those of the conversations that ran beside it
(reads are not artificially contiguous), and what expires first sits together at the front.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import items as item_shapes

SPREAD_DAYS = 14
GROUP = 250
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class SessionSpec:
    user_id: uuid.UUID
    conversation_id: uuid.UUID
    updated_at: datetime

    @property
    def session_id(self) -> str:
        from todochat.agent.session import get_session_id

        return get_session_id(self.user_id, self.conversation_id)


def sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def plan_sessions(count: int, seed: int, now: datetime, spread_days: float = SPREAD_DAYS):
    """`count` sessions with ids from `seed` and last activity uniform over `spread_days`."""
    rng = random.Random(seed)
    specs = [
        SessionSpec(
            uuid.UUID(int=rng.getrandbits(128), version=4),
            uuid.UUID(int=rng.getrandbits(128), version=4),
            now - timedelta(seconds=rng.uniform(60, spread_days * 86400)),
        )
        for _ in range(count)
    ]
    return sorted(specs, key=lambda s: s.session_id)


def create_memory_file(path: Path) -> None:
    """An empty agent-memory file made the way the app makes one."""
    from todochat.agent.session import get_agent_session

    get_agent_session(uuid.uuid4(), uuid.uuid4(), db_path=str(path)).close()


def fill(path: Path, specs: list[SessionSpec], items_per_session: int, seed: int) -> int:
    """Append `items_per_session` items to each session; the number of rows written."""
    rng = random.Random(seed)
    written = 0
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA cache_size=-262144")
        for start in range(0, len(specs), GROUP):
            group = specs[start : start + GROUP]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT OR REPLACE INTO agent_sessions (session_id, created_at, updated_at) "
                "VALUES (?, ?, ?)",
                [
                    (
                        s.session_id,
                        sqlite_time(s.updated_at - timedelta(days=3)),
                        sqlite_time(s.updated_at),
                    )
                    for s in group
                ],
            )
            rows = interleaved_rows(rng, group, items_per_session)
            conn.executemany(
                "INSERT INTO agent_messages (session_id, message_data, created_at) VALUES (?, ?, ?)",
                rows,
            )
            conn.execute("COMMIT")
            written += len(rows)
    return written


def interleaved_rows(rng: random.Random, group: list[SessionSpec], items_per_session: int):
    """Rows for one group: round after round, each session adds its next turn."""
    turns = {s.session_id: session_turns(rng, s, items_per_session) for s in group}
    rows = []
    for round_number in range(max(len(t) for t in turns.values())):
        for session_id, session in turns.items():
            if round_number < len(session):
                rows.extend((session_id, data, at) for data, at in session[round_number])
    return rows


def session_turns(rng: random.Random, spec: SessionSpec, items_per_session: int):
    """The session's turns as (json, created_at) lists, the last one at `updated_at`."""
    plan = item_shapes.turn_plan(rng, items_per_session)
    step = timedelta(minutes=rng.uniform(1, 30))
    return [
        [
            (json.dumps(item), sqlite_time(spec.updated_at - step * (len(plan) - 1 - n)))
            for item in item_shapes.turn(rng, with_reasoning)
        ]
        for n, with_reasoning in enumerate(plan)
    ]


def generate(path: Path, sessions: int, items_per_session: int, seed: int = 4) -> list[SessionSpec]:
    """A new memory file at `path` with the planned sessions; returns their specs."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    now = datetime.now(UTC)
    specs = plan_sessions(sessions, seed, now)
    create_memory_file(path)
    fill(path, sorted(specs, key=lambda s: s.updated_at), items_per_session, seed)
    return specs


def read_specs(path: Path) -> list[SessionSpec]:
    """The sessions of an existing generated file (for `--workdir` reuse)."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT session_id, updated_at FROM agent_sessions").fetchall()
    return [parse_spec(session_id, updated) for session_id, updated in rows]


def parse_spec(session_id: str, updated_at: str) -> SessionSpec:
    _, user, _, conversation = session_id.split("_")
    moment = datetime.strptime(updated_at[:19], TIME_FORMAT).replace(tzinfo=UTC)
    return SessionSpec(uuid.UUID(user), uuid.UUID(conversation), moment)
