"""Case 2: one full turn through the turn service, beside a bare `Runner.run`, on both app DBs.

Ours: `ChatService.turn` (save the message, open memory, run streamed with one tool call,
save the reply, prune). Baseline: `Runner.run` of the same agent and offline model with a
plain SDK `SQLiteSession` (read limit 200, like ours) and nothing else. Both start from a
200-item memory in the full-scale file and alternate turn by turn.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

from bench.conversation import fill_to, started_service, turn_text
from bench.report import Figure, Target
from bench.stats import summarize_ms
from bench.workspace import Workspace

NUMBER = 2
TITLE = "turn overhead"
WARMUP = 3


def bare_runner(service, memory_path: str, item_limit: int):
    """A coroutine factory running the agent the plain SDK way against the same app DB."""
    from agents import RunConfig, Runner, SQLiteSession
    from agents.memory import SessionSettings

    from todochat.agent.context import TodoContext
    from todochat.agent.offline import OfflineModel
    from todochat.agent.todo_agent import todo_agent

    session = SQLiteSession(
        f"bench_plain_{uuid.uuid4().hex}",
        memory_path,
        session_settings=SessionSettings(limit=item_limit),
    )
    config = RunConfig(model=OfflineModel(), tracing_disabled=True)
    context = TodoContext(service.user_id, service.database)

    def run(text: str):
        return Runner.run(todo_agent, text, context=context, session=session, run_config=config)

    return session, run


async def measure(ws: Workspace, label: str, database_url: str) -> tuple[list[float], list[float]]:
    memory = ws.scratch_memory()
    size = ws.scale.items_per_session
    settings = ws.settings(f"case2-{label}", memory, database_url)
    rng = random.Random(2)
    service = await started_service(settings, f"turn-{label}", size, rng)
    session, run_bare = bare_runner(service, str(memory), size)
    await fill_to(session, size, rng)
    ours, bare = [], []
    for n in range(1, WARMUP + ws.scale.turn_repeats + 1):
        start = time.perf_counter()
        await service.turn(turn_text(n))
        middle = time.perf_counter()
        await run_bare(turn_text(n))
        end = time.perf_counter()
        if n > WARMUP:
            ours.append(middle - start)
            bare.append(end - middle)
    session.close()
    service.close()
    return ours, bare


def backend_figures(label: str, ours: list[float], bare: list[float]) -> list[Figure]:
    mine, base = summarize_ms(ours), summarize_ms(bare)
    return [
        Figure(f"turn p50 ({label})", mine["p50"], "ms", Target("<=", 30.0)),
        Figure(f"turn p95 ({label})", mine["p95"], "ms"),
        Figure(f"baseline Runner.run p50 ({label})", base["p50"], "ms"),
        Figure(
            f"turn p50 / baseline p50 ({label})", mine["p50"] / base["p50"], "x", Target("<=", 1.5)
        ),
    ]


def run(ws: Workspace) -> list[Figure]:
    figures = []
    for label, url in (
        ("sqlite", ws.sqlite_app_url("case2-sqlite")),
        ("postgresql", ws.postgres_url),
    ):
        figures += backend_figures(label, *asyncio.run(measure(ws, label, url)))
    return figures
