"""Case 19: `todochat serve` under load, beside the same turns through the core directly.

CLIENTS clients at once, each its own user and conversation, each sending MESSAGES messages
one after another over loopback HTTP (a turn is timed from the POST to its `done` event),
with the offline model, on SQLite and on PostgreSQL. The same turns also run through the
core in one process of their own (`bench.workers.core_worker`). The two alternate in ROUNDS
rounds of MESSAGES / ROUNDS messages each (core, server, core, server), so a machine whose
load drifts during the run (a shared one) weighs on both alike. Afterwards the log is read:
every question and reply must be there once (lost, duplicated), and no turn may fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time

from bench.report import Figure, Target
from bench.stats import summarize_ms
from bench.workers.core_worker import message
from bench.workspace import Workspace, child_environment

NUMBER = 19
TITLE = "the HTTP server"
ROUNDS = 2
LISTENING = re.compile(r"listening on (http://\S+?)/? ")


def start_server(env: dict) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "todochat", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    found = LISTENING.search(server.stdout.readline())
    if found is None:
        server.kill()
        raise RuntimeError("todochat serve did not start")
    # Its access log goes on: a pipe nobody reads fills up and stops the server.
    threading.Thread(target=server.stdout.read, daemon=True).start()
    return server, found.group(1)


async def one_turn(http, thread: str, text: str) -> float:
    """Seconds from the POST to the `done` event; raises on any other ending."""
    start = time.perf_counter()
    async with http.stream("POST", f"/threads/{thread}/messages", json={"text": text}) as answer:
        if answer.status_code != 200:
            raise RuntimeError(f"HTTP {answer.status_code}")
        last = ""
        async for line in answer.aiter_lines():
            last = line[7:] if line.startswith("event: ") else last
    if last != "done":
        raise RuntimeError(f"the stream ended with {last or 'nothing'}")
    return time.perf_counter() - start


async def http_client(url: str, token: str, index: int, messages: int, out: dict) -> None:
    import httpx2

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(base_url=url, headers=headers, timeout=600) as http:
        thread = (await http.post("/threads")).json()["id"]
        out["conversations"][index] = thread
        for n in range(messages):
            try:
                out["latencies"].append(await one_turn(http, thread, message(index, n)))
            except Exception as exc:  # every failure counts; the run goes on
                out["errors"].append(f"{type(exc).__name__}: {exc}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (every thread)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(url: str, tokens: list[str], messages: int, server_pid: int) -> dict:
    out: dict = {"latencies": [], "errors": [], "conversations": {}}
    await http_client(url, tokens[0], 0, 1, {"latencies": [], "errors": [], "conversations": {}})
    server_cpu, client_cpu = cpu_seconds(server_pid), time.process_time()
    start = time.perf_counter()
    await asyncio.gather(
        *(http_client(url, t, i + 1, messages, out) for i, t in enumerate(tokens[1:]))
    )
    out["seconds"] = time.perf_counter() - start
    out["cpu_seconds"] = cpu_seconds(server_pid) - server_cpu
    out["client_cpu_seconds"] = time.process_time() - client_cpu
    return out


def server_run(env: dict, settings, clients: int, messages: int, prefix: str) -> dict:
    """The clients against a real server; the conversations keyed by user name."""
    from todochat.app import App

    app = App(settings)
    names = [f"{prefix}{i}" for i in range(clients + 1)]  # the first warms the server up
    tokens = [app.tokens.create(name, "bench").token for name in names]
    server, url = start_server(env)
    try:
        out = asyncio.run(drive(url, tokens, messages, server.pid))
    finally:
        server.terminate()
        server.wait(60)
    out["conversations"] = {names[i]: c for i, c in out["conversations"].items()}
    return out


def core_run(env: dict, clients: int, messages: int, prefix: str) -> dict:
    worker = [sys.executable, "-m", "bench.workers.core_worker"]
    command = [*worker, prefix, str(clients), str(messages)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def log_faults(settings, conversations: dict, messages: int) -> tuple[int, int]:
    """(lost, duplicated) messages: each conversation must hold each question and reply once."""
    import uuid

    from todochat.app import App

    app, lost, duplicated = App(settings), 0, 0
    for name, conversation in conversations.items():
        rows = app.user(name).log.messages(uuid.UUID(conversation), None, 4 * messages)
        questions = [m for m in rows if m.role == "user"]
        answered = [m.reply_to for m in rows if m.role == "assistant"]
        distinct = len({m.content for m in questions if m.content.startswith("create")})
        lost += max(0, messages - len(questions)) + max(0, messages - len(set(answered)))
        duplicated += len(questions) - messages + len(answered) - len(set(answered))
        duplicated += (messages + 1) // 2 - distinct
    return lost, max(duplicated, 0)


def figures_for(ws: Workspace, backend: str) -> list[Figure]:
    name = f"case19-{backend}"
    url = ws.sqlite_app_url(name) if backend == "sqlite" else ws.postgres_url
    memory = ws.directory(name) / "agent_sessions.db"
    env = child_environment(ws.environment(name, memory, url))
    settings = ws.settings(name, memory, url)
    clients, messages = ws.scale.server_clients, ws.scale.server_messages
    rounds = ROUNDS if messages >= 2 * ROUNDS else 1  # `--quick`: one round, kept short
    each = messages // rounds
    core, served = _empty(), _empty()
    for round_ in range(rounds):
        _add(core, core_run(env, clients, each, f"core{round_}-"))
        _add(served, server_run(env, settings, clients, each, f"srv{round_}-"))
    for error in {*served["errors"], *core["errors"]}:
        print(f"case 19 ({backend}): {error}", file=sys.stderr)
    lost, duplicated = log_faults(settings, served["conversations"], each)
    core_lost, core_duplicated = log_faults(settings, core["conversations"], each)
    server_ms, core_ms = summarize_ms(served["latencies"]), summarize_ms(core["latencies"])
    shape = f"{clients} clients x {messages} messages, {backend}"
    turns = clients * each * rounds
    return [
        Figure(f"server turn p50 ({shape})", server_ms["p50"], "ms"),
        Figure(f"server turn p95 ({backend})", server_ms["p95"], "ms"),
        Figure(f"server turns per second ({backend})", turns / served["seconds"], "turns/s"),
        Figure(f"core turn p50, same turns in one process ({backend})", core_ms["p50"], "ms"),
        Figure(f"core turn p95 ({backend})", core_ms["p95"], "ms"),
        Figure(f"core turns per second ({backend})", turns / core["seconds"], "turns/s"),
        Figure(
            f"server process CPU per turn ({backend})", 1000 * served["cpu_seconds"] / turns, "ms"
        ),
        Figure(
            f"HTTP clients' CPU per turn ({backend})",
            1000 * served["client_cpu_seconds"] / turns,
            "ms",
        ),
        Figure(f"core process CPU per turn ({backend})", 1000 * core["cpu_seconds"] / turns, "ms"),
        Figure(
            f"server p50 / core p50 ({backend})",
            server_ms["p50"] / core_ms["p50"],
            "x",
            Target("<=", 1.3),
        ),
        Figure(
            f"errors (server and core, {backend})",
            len(served["errors"]) + len(core["errors"]),
            "errors",
            Target("==", 0),
        ),
        Figure(
            f"lost messages (server and core, {backend})",
            lost + core_lost,
            "count",
            Target("==", 0),
        ),
        Figure(
            f"duplicated messages (server and core, {backend})",
            duplicated + core_duplicated,
            "count",
            Target("==", 0),
        ),
    ]


def _empty() -> dict:
    return {"latencies": [], "errors": [], "conversations": {}, "seconds": 0.0, "cpu_seconds": 0.0}


def _add(total: dict, run: dict) -> None:
    for key in ("latencies", "errors"):
        total[key] += run[key]
    total["conversations"].update(run["conversations"])
    for key in ("seconds", "cpu_seconds", "client_cpu_seconds"):
        total[key] = total.get(key, 0.0) + run.get(key, 0.0)


def run(ws: Workspace) -> list[Figure]:
    return figures_for(ws, "sqlite") + figures_for(ws, "postgresql")
