"""Case 3: the prune that ends every turn, beside a naive count-then-DELETE-NOT-IN.

Each round appends one generated turn to a 200-item session (untimed), then prunes it back
(ours cuts at a turn start, so some rounds have nothing to cut, as in real use):
ours through `TurnMemory.finish` (what the turn calls), the naive one on its own
200-item session. Both open a connection per call, as a turn does.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
import uuid
from contextlib import closing

from bench import items as item_shapes
from bench.conversation import fill_to, started_service
from bench.report import Figure, Target
from bench.stats import summarize_ms
from bench.workspace import Workspace

NUMBER = 3
TITLE = "prune after each turn"


def naive_prune(path: str, session_id: str, max_items: int) -> int:
    """Count, and when over the limit delete every row not among the newest `max_items`."""
    with closing(sqlite3.connect(path, isolation_level=None, timeout=5)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        (count,) = conn.execute(
            "SELECT count(*) FROM agent_messages WHERE session_id = ?", (session_id,)
        ).fetchone()
        deleted = 0
        if count > max_items:
            deleted = conn.execute(
                "DELETE FROM agent_messages WHERE session_id = ? AND id NOT IN "
                "(SELECT id FROM agent_messages WHERE session_id = ? ORDER BY id DESC LIMIT ?)",
                (session_id, session_id, max_items),
            ).rowcount
        conn.execute("COMMIT")
    return deleted


def timed(call) -> tuple[float, int]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


async def measure(ws: Workspace) -> tuple[list[float], list[float]]:
    from agents import SQLiteSession

    memory, size = ws.scratch_memory(), ws.scale.items_per_session
    rng = random.Random(3)
    settings = ws.settings("case3", memory, ws.sqlite_app_url("case3"))
    service = await started_service(settings, "prune", size, rng)
    naive_session = SQLiteSession(f"bench_naive_{uuid.uuid4().hex}", str(memory))
    await fill_to(naive_session, size, rng)
    ours, naive, deleted_total = [], [], 0
    for _ in range(ws.scale.prune_repeats):
        turn = item_shapes.turn(rng, rng.random() < 0.5)
        await service.agent_session().add_items(turn)
        await naive_session.add_items(turn)
        seconds, deleted = timed(lambda: service.memory.finish(service.conversation_id))
        ours.append(seconds)
        deleted_total += deleted
        seconds, naive_deleted = timed(
            lambda: naive_prune(str(memory), naive_session.session_id, size)
        )
        naive.append(seconds)
        if naive_deleted == 0:
            raise AssertionError("the naive prune deleted nothing from a session over its limit")
    left = len(await service.agent_session().get_items(limit=size + 10))
    if deleted_total == 0 or left > size:
        raise AssertionError(f"prune deleted {deleted_total} items and left {left} (limit {size})")
    naive_session.close()
    service.close()
    return ours, naive


def run(ws: Workspace) -> list[Figure]:
    ours, naive = asyncio.run(measure(ws))
    mine, base = summarize_ms(ours), summarize_ms(naive)
    return [
        Figure("prune p50", mine["p50"], "ms"),
        Figure("prune p95", mine["p95"], "ms", Target("<=", 1.0)),
        Figure("naive count+DELETE NOT IN p95", base["p95"], "ms"),
        Figure("prune p95 / naive p95", mine["p95"] / base["p95"], "x", Target("<=", 1.0)),
    ]
