"""Case 15: the heaviest user's open tasks (2,000 at full scale): the agent's instructions
(size and build time, with the page of pressing tasks beside its bare query) and the first
page of `tasks` with its total, on both backends."""

from __future__ import annotations

import time

from bench.logbench import Backend, alternate, backends, figures
from bench.report import Figure, Target
from bench.stats import summarize_ms
from bench.workspace import Workspace

NUMBER = 15
TITLE = "instructions and tasks at scale"
PAGE = 100
BARE_PAGE = (
    "SELECT number FROM tasks WHERE user_id = ? AND done = ? ORDER BY due_on IS NULL, due_on,"
    " due_at IS NULL, due_at, number LIMIT 100"
)
BARE_COUNT = "SELECT count(*) FROM tasks WHERE user_id = ? AND done = ?"


def add_tasks(backend: Backend, user_id, count: int) -> None:
    """`count` open tasks for the user, a tenth with due dates, once per generated log."""
    from datetime import date, timedelta

    from todochat.db import open_database
    from todochat.tasks import queries as task_queries
    from todochat.tasks.dates import Due

    with open_database(backend.url).session() as session:
        if task_queries.count_tasks(session, user_id, "open") >= count:
            return
        for n in range(count):
            due = Due(date.today() + timedelta(days=n % 90 - 10), None) if n % 10 == 0 else None
            task_queries.add_task(session, user_id, f"bench chore {n}", "a note " * 8, due=due)


def instructions(backend: Backend, user_id):
    from agents import RunContextWrapper

    from todochat.agent.context import TodoContext
    from todochat.agent.todo_agent import instructions as build
    from todochat.agent.todo_agent import todo_agent
    from todochat.db import open_database

    wrapper = RunContextWrapper(context=TodoContext(user_id, open_database(backend.url)))
    return lambda: build(wrapper, todo_agent)


def task_page(backend: Backend, user_id):
    from todochat.db import open_database
    from todochat.tasks import queries as task_queries

    database = open_database(backend.url)

    def call(_n: int) -> list[tuple]:
        with database.session() as session:
            found = task_queries.list_tasks(session, user_id, "open", limit=PAGE)
            total = task_queries.count_matching(session, user_id, "open")
        return [(t.number,) for t in found] + [(total,)]

    return call


def bare_page(backend: Backend, user_id):
    key, no = backend.uuid(user_id), False if backend.label == "postgresql" else 0
    return lambda _n: backend.rows(BARE_PAGE, key, no) + backend.rows(BARE_COUNT, key, no)


def run(ws: Workspace) -> list[Figure]:
    log = ws.app_log()
    result = [Figure("open tasks of the user", ws.scale.open_tasks, "count")]
    with backends(ws) as all_backends:
        for backend in all_backends:
            add_tasks(backend, log.user_id, ws.scale.open_tasks)
            build = instructions(backend, log.user_id)
            size = len(build().encode())
            samples = []
            for _ in range(ws.scale.log_repeats + 5):
                start = time.perf_counter()
                build()
                samples.append(time.perf_counter() - start)
            built = summarize_ms(samples[5:])
            label = backend.label
            result += [
                Figure(f"instructions size ({label})", size, "bytes", Target("<=", 8000)),
                Figure(f"instructions built p50 ({label})", built["p50"], "ms"),
                Figure(f"instructions built p95 ({label})", built["p95"], "ms", Target("<=", 10)),
            ]
            mine, base = alternate(
                task_page(backend, log.user_id),
                bare_page(backend, log.user_id),
                ws.scale.log_repeats,
            )
            result += figures("tasks page and total", label, mine, base, 50.0)
    return result
