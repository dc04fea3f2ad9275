"""What the log's cases (11-13) share: both backends, a bare driver connection to each, and
timing our call and its bare-SQL twin in alternating order."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

from bench.report import Figure, Target
from bench.stats import summarize_ms
from bench.workspace import Workspace


@dataclass
class Backend:
    label: str
    url: str
    bare: Any  # a sqlite3 or psycopg connection
    marker: str  # the driver's parameter marker

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        """Run hand-written SQL (`?` for parameters) on the bare connection."""
        cursor = self.bare.cursor()
        cursor.execute(sql.replace("?", self.marker), params)
        return [tuple(r) for r in cursor.fetchall()]

    def uuid(self, value) -> Any:
        """How this backend's column holds a uuid (SQLite: 32 hex digits)."""
        return value.hex if self.label == "sqlite" else value


def bench_user(backend: Backend, name: str = "bench"):
    """The core's view of a generated user on this backend, as the commands build it."""
    from todochat.app import App
    from todochat.config import load_settings

    return App(load_settings(overrides={"database_url": backend.url, "user": name})).user()


@contextmanager
def backends(ws: Workspace) -> Iterator[list[Backend]]:
    import psycopg

    log = ws.app_log()
    plain = log.postgres_url.replace("postgresql+psycopg://", "postgresql://")
    lite = sqlite3.connect(log.sqlite_url.removeprefix("sqlite:///"))
    with closing(lite), psycopg.connect(plain, autocommit=True) as pg:
        yield [
            Backend("sqlite", log.sqlite_url, lite, "?"),
            Backend("postgresql", log.postgres_url, pg, "%s"),
        ]


def alternate(
    ours: Callable[[int], Any], bare: Callable[[int], Any], repeats: int, warmup: int = 5
) -> tuple[list[float], list[float]]:
    """Seconds of `ours(n)` and `bare(n)` for each round n; which goes first alternates, and
    each round's results must be the same rows."""
    mine, base = [], []
    for n in range(repeats + warmup):
        first, second = (ours, bare) if n % 2 == 0 else (bare, ours)
        start = time.perf_counter()
        a = first(n)
        middle = time.perf_counter()
        b = second(n)
        end = time.perf_counter()
        if a != b:
            raise AssertionError(f"round {n}: our rows differ from the bare query's")
        if n >= warmup:
            (mine if first is ours else base).append(middle - start)
            (base if first is ours else mine).append(end - middle)
    return mine, base


def figures(
    what: str,
    label: str,
    mine: list[float],
    base: list[float],
    p95: float | None,
    ratio: float | None = None,
):
    ours, bare = summarize_ms(mine), summarize_ms(base)
    return [
        Figure(f"{what} p50 ({label})", ours["p50"], "ms"),
        Figure(f"{what} p95 ({label})", ours["p95"], "ms", Target("<=", p95) if p95 else None),
        Figure(f"bare SQL of {what} p95 ({label})", bare["p95"], "ms"),
        Figure(
            f"{what} p95 / bare p95 ({label})",
            ours["p95"] / bare["p95"],
            "x",
            Target("<=", ratio) if ratio else None,
        ),
    ]
