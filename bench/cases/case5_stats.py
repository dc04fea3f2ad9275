"""Case 5: `todochat sessions stats` on the full-scale file, in process (start-up is case 6)."""

from __future__ import annotations

import time

from bench.report import Figure, Target
from bench.stats import median
from bench.workspace import Workspace

NUMBER = 5
TITLE = "global stats"


def invoke_stats(environment: dict) -> float:
    from typer.testing import CliRunner

    from todochat.cli import app
    from todochat.config import reset_settings

    reset_settings()
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["sessions", "stats"], env=environment)
    elapsed = time.perf_counter() - start
    reset_settings()
    if result.exit_code != 0:
        raise RuntimeError(f"sessions stats exited {result.exit_code}: {result.output.strip()}")
    return elapsed


def run(ws: Workspace) -> list[Figure]:
    environment = ws.environment("case5", ws.base_memory, ws.sqlite_app_url("case5"))
    samples = [invoke_stats(environment) for _ in range(ws.scale.stats_repeats)]
    return [
        Figure("sessions stats median", median(samples) * 1000, "ms", Target("<=", 300.0)),
        Figure("sessions stats max", max(samples) * 1000, "ms"),
    ]
