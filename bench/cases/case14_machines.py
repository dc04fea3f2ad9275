"""Case 14: several machines on one PostgreSQL database, and what following the log costs.

Two machines (two data directories: two memory files, two lock folders) run two processes
each, all in one conversation, every turn an `add_task`. Afterwards the log is read: every
turn must have left its question and its reply (lost messages), each reply must name the
question it answers and say that question's task (wrong pairings), and no two agent runs may
overlap in time (overlapping turns; the workers time them on the system-wide monotonic
clock). Then, in this process, a turn beside the same turn without the watermark check (the
log is not asked for newer replies), and the check alone.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.conversation import turn_text
from bench.processes import finish
from bench.report import Figure, Target
from bench.stats import summarize_ms
from bench.workspace import Workspace, child_environment

NUMBER = 14
TITLE = "several machines"
MACHINES = 2
PROCESSES_PER_MACHINE = 2
USER = "machines"
WARMUP = 3


def machine_environment(ws: Workspace, machine: int) -> dict:
    name = f"case14-machine{machine}"
    memory = ws.directory(name) / "agent_sessions.db"
    return child_environment(ws.environment(name, memory, ws.postgres_url, TODOCHAT_USER=USER))


def start_workers(ws: Workspace, conversation: str, go: Path) -> list[subprocess.Popen]:
    """Start every process of every machine; wait until each is ready (or died trying)."""
    workers = []
    for machine in range(MACHINES):
        env = machine_environment(ws, machine)
        for process in range(PROCESSES_PER_MACHINE):
            command = [
                *(sys.executable, "-m", "bench.workers.machine_worker"),
                f"m{machine}p{process}",
                str(ws.scale.machine_turns),
                conversation,
                str(go),
            ]
            workers.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env))
    for worker in workers:
        worker.stdout.readline()
    return workers


def seed_conversation(ws: Workspace) -> str:
    """The shared conversation, begun on machine 0 (so the other starts by rebuilding)."""
    from todochat.app import App
    from todochat.config import load_settings

    service = App(load_settings(machine_environment(ws, 0))).user().chat()
    asyncio.run(service.turn("hello"))
    service.close()
    return service.conversation_id.hex


def read_log(database_url: str, conversation: str) -> list:
    from todochat.db import open_database
    from todochat.log import messages

    with open_database(database_url).session() as session:
        return messages.list_messages(session, uuid.UUID(conversation))


def wrong_pairings(log: list) -> int:
    """Replies (after the seed turn) whose question is missing or names another task."""
    questions = {m.id: m.content for m in log if m.role == "user"}
    wrong = 0
    for reply in [m for m in log if m.role == "assistant"][1:]:
        asked = questions.get(reply.reply_to, "")
        title = re.search(r"(m\d+p\d+t\d+)$", asked)
        wrong += title is None or f" {title[1]}**" not in reply.content
    return wrong


def overlapping_runs(reports: list[dict]) -> int:
    """Agent runs that started before an earlier-started one had ended."""
    runs = sorted(tuple(run) for report in reports for run in report["runs"])
    overlaps, latest_end = 0, 0
    for start, end in runs:
        overlaps += start < latest_end
        latest_end = max(latest_end, end)
    return overlaps


def machines_figures(ws: Workspace) -> list[Figure]:
    conversation = seed_conversation(ws)
    go = ws.directory("case14") / "go"
    workers = start_workers(ws, conversation, go)
    started = time.time()
    go.touch()
    reports, crashed = finish(workers, 1800)
    seconds = time.time() - started
    turns = ws.scale.machine_turns
    errors = sum(len(r["errors"]) for r in reports) + crashed * turns
    for error in {e for r in reports for e in r["errors"]}:
        print(f"case 14: {error}", file=sys.stderr)
    log = read_log(ws.postgres_url, conversation)
    expected = 2 + 2 * len(workers) * turns
    caught_up = sum("caught up" in n for r in reports for n in r["notices"])
    shape = f"{MACHINES} machines x {PROCESSES_PER_MACHINE} processes x {turns} turns"
    return [
        Figure(f"crashed worker processes ({shape})", crashed, "count", Target("==", 0)),
        Figure("errors (machines)", errors, "errors", Target("==", 0)),
        Figure("lost messages (machines)", expected - len(log), "count", Target("==", 0)),
        Figure("wrong pairings (machines)", wrong_pairings(log), "count", Target("==", 0)),
        Figure("overlapping turns (machines)", overlapping_runs(reports), "count", Target("==", 0)),
        Figure("catch-ups from the log (machines)", caught_up, "count"),
        Figure(
            "turns per second, one conversation (machines)", (len(log) - 2) / 2 / seconds, "turns/s"
        ),
    ]


class _Unchanged:
    """A log that reports nothing new without asking the database: a turn without the check."""

    def __init__(self, log):
        self.log = log

    def earlier(self, newest=None):
        return self.log.earlier(newest)

    def replies_after(self, message_id: int, limit: int):
        return None, []


async def measure_check(ws: Workspace) -> tuple[list[float], list[float], list[float]]:
    from todochat.app import App
    from todochat.turn import ChatService

    class Measured(ChatService):
        skip_check = False

        def turn_log(self, message, connection=None):
            log = super().turn_log(message, connection)
            return _Unchanged(log) if self.skip_check else log

    memory = ws.directory("case14-check") / "agent_sessions.db"
    settings = ws.settings("case14-check", memory, ws.postgres_url, TODOCHAT_USER=f"{USER}-check")
    service = Measured(App(settings).user())
    await service.turn(turn_text(0))
    with_check, without, check = [], [], []
    for n in range(1, WARMUP + ws.scale.turn_repeats + 1):
        timings = {}
        for skip in (False, True) if n % 2 else (True, False):  # which goes first alternates
            service.skip_check = skip
            start = time.perf_counter()
            await service.turn(turn_text(n))
            timings[skip] = time.perf_counter() - start
        *_, question, reply = service.user.log.page(service.conversation_id).messages
        service.skip_check = False
        async with service.turn_lock(question.conversation_id) as connection:
            log = service.turn_log(question, connection)  # as a turn asks, on the lock's line
            start = time.perf_counter()
            log.replies_after(reply.id, settings.agent_session_max_messages // 2)
            checked = time.perf_counter() - start
        if n > WARMUP:
            with_check.append(timings[False])
            without.append(timings[True])
            check.append(checked)
    service.close()
    return with_check, without, check


def check_figures(ws: Workspace) -> list[Figure]:
    with_check, without, check = (summarize_ms(t) for t in asyncio.run(measure_check(ws)))
    return [
        Figure("watermark check p50 (one indexed query)", check["p50"], "ms", Target("<=", 2.0)),
        Figure("turn p50 with the check (postgresql)", with_check["p50"], "ms"),
        Figure("turn p50 without the check (postgresql)", without["p50"], "ms"),
        Figure(
            "turn p50 with / without the check",
            with_check["p50"] / without["p50"],
            "x",
            Target("<=", 1.1),
        ),
    ]


def run(ws: Workspace) -> list[Figure]:
    return machines_figures(ws) + check_figures(ws)
