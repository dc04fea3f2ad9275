"""Case 1: open a conversation's memory and read its 200 items, beside a bare sqlite3 read.

Ours and the floor alternate, one call each per round, so machine noise hits both alike;
which of the two goes first swaps every round, because the second read of the same rows
finds them in the CPU caches (reading first costs about 0.3 ms more at p95 here).
The floor is what any reader starting from the file path must pay: connect, SELECT the
same rows, fetch them. A second reference, the SELECT alone on an open connection, shows
what connecting costs.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from bench.report import Figure, Target
from bench.stats import summarize_ms
from bench.workspace import Workspace

NUMBER = 1
TITLE = "memory read"
SELECT_ITEMS = "SELECT message_data FROM agent_messages WHERE session_id = ? ORDER BY id"


async def read_with_session(path: Path, spec, max_items: int) -> float:
    from todochat.agent.session import get_agent_session

    start = time.perf_counter()
    session = get_agent_session(spec.user_id, spec.conversation_id, str(path), max_items)
    items = await session.get_items()
    elapsed = time.perf_counter() - start
    session.close()
    if len(items) != max_items:
        raise AssertionError(f"read {len(items)} items of {spec.session_id}, not {max_items}")
    return elapsed


def read_bare(path: Path, session_id: str) -> float:
    start = time.perf_counter()
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(SELECT_ITEMS, (session_id,)).fetchall()
    elapsed = time.perf_counter() - start
    assert rows
    return elapsed


def select_open(conn: sqlite3.Connection, session_id: str) -> float:
    start = time.perf_counter()
    conn.execute(SELECT_ITEMS, (session_id,)).fetchall()
    return time.perf_counter() - start


async def measure(ws: Workspace, picks) -> tuple[list[float], list[float], list[float]]:
    ours, floor, open_select = [], [], []
    path, size = ws.base_memory, ws.scale.items_per_session
    with closing(sqlite3.connect(path)) as conn:
        for n, spec in enumerate(picks):
            if n % 2:
                floor.append(read_bare(path, spec.session_id))
            ours.append(await read_with_session(path, spec, size))
            if not n % 2:
                floor.append(read_bare(path, spec.session_id))
            open_select.append(select_open(conn, spec.session_id))
    return ours, floor, open_select


def run(ws: Workspace) -> list[Figure]:
    rng = random.Random(1)
    picks = [rng.choice(ws.specs) for _ in range(ws.scale.read_repeats)]
    ours, floor, open_select = asyncio.run(measure(ws, picks))
    mine, bare, select = summarize_ms(ours), summarize_ms(floor), summarize_ms(open_select)
    return [
        Figure("get_agent_session+get_items p50", mine["p50"], "ms"),
        Figure("get_agent_session+get_items p95", mine["p95"], "ms", Target("<=", 2.0)),
        Figure("get_agent_session+get_items p99", mine["p99"], "ms"),
        Figure("floor: connect+SELECT p95", bare["p95"], "ms"),
        Figure("ref: SELECT on open connection p95", select["p95"], "ms"),
        Figure("read p95 / floor p95", mine["p95"] / bare["p95"], "x", Target("<=", 3.0)),
    ]
