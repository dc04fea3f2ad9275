"""Case 7: four processes chatting at once on one agent-memory file and one app database.

Every process runs its first turn (creating its conversation), then all start together.
A worker that crashes counts all its turns as errors.
Afterwards every message and item is counted: each turn must leave 2 messages in the app
database and 4 items in memory (user, function_call, output, reply). Memory is not pruned
in this case (a limit above what is written), so nothing may be missing.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path

from bench.processes import finish
from bench.report import Figure, Target
from bench.workspace import Workspace, child_environment

NUMBER = 7
TITLE = "concurrency"
ITEMS_PER_TURN = 4
MESSAGES_PER_TURN = 2


def start_workers(ws: Workspace, env: dict, go: Path) -> list[subprocess.Popen]:
    """Start every worker and wait until each has done its first turn (or died trying)."""
    workers = []
    for index in range(ws.scale.workers):
        command = [
            sys.executable,
            "-m",
            "bench.workers.chat_worker",
            f"worker{index}",
            str(ws.scale.turns_per_worker),
            str(go),
        ]
        workers.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env))
    for worker in workers:
        worker.stdout.readline()  # "ready", or "" from a worker that died first
    return workers


def count_messages(database_url: str, conversation_id: str) -> int:
    from todochat.db import open_database
    from todochat.log import messages

    with open_database(database_url).session() as session:
        return len(messages.list_messages(session, uuid.UUID(conversation_id)))


def count_items(memory: Path, session_id: str) -> int:
    with closing(sqlite3.connect(memory)) as conn:
        query = "SELECT count(*) FROM agent_messages WHERE session_id = ?"
        return conn.execute(query, (session_id,)).fetchone()[0]


def measure(ws: Workspace, label: str, database_url: str) -> list[Figure]:
    name = f"case7-{label}"
    memory = ws.directory(name) / "agent_sessions.db"
    turns = ws.scale.turns_per_worker
    env = child_environment(
        ws.environment(
            name, memory, database_url, AGENT_SESSION_MAX_MESSAGES=str(10 * turns * ITEMS_PER_TURN)
        )
    )
    go = ws.directory(name) / "go"
    workers = start_workers(ws, env, go)
    started = time.time()
    go.touch()
    reports, crashed = finish(workers, 600)
    seconds = max((r["finished"] for r in reports), default=time.time()) - started
    errors = sum(len(r["errors"]) for r in reports) + crashed * turns
    lost_messages = sum(
        turns * MESSAGES_PER_TURN - count_messages(database_url, r["conversation_id"])
        for r in reports
    )
    lost_items = sum(turns * ITEMS_PER_TURN - count_items(memory, r["session_id"]) for r in reports)
    timed_turns = len(reports) * (turns - 1)
    return [
        Figure(f"crashed worker processes ({label})", crashed, "count", Target("==", 0)),
        Figure(f"errors ({label})", errors, "errors", Target("==", 0)),
        Figure(f"lost messages ({label})", lost_messages, "count", Target("==", 0)),
        Figure(f"lost memory items ({label})", lost_items, "count", Target("==", 0)),
        Figure(
            f"turns per second, {ws.scale.workers} processes ({label})",
            timed_turns / seconds,
            "turns/s",
        ),
    ]


def run(ws: Workspace) -> list[Figure]:
    return measure(ws, "sqlite", ws.sqlite_app_url("case7-sqlite")) + measure(
        ws, "postgresql", ws.postgres_url
    )
