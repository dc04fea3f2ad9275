"""Run something while a second process writes a turn every 20 ms, and collect its stalls."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.workspace import child_environment

SETTLE_S = 0.3


@dataclass
class WriterReport:
    writes: int
    errors: list[str]
    worst_stall_ms: float
    during_seconds: float  # how long the operation under test ran

    @property
    def lock_errors(self) -> int:
        return sum("locked" in e.lower() for e in self.errors)


def with_writer(db: Path, session_ids: list[str], interval: float, operation: Callable[[], object]):
    """Start the writer, run `operation` once it is writing, stop it; (result, WriterReport)."""
    work = db.parent
    sessions_file, stop = work / "writer-sessions.json", work / "writer-stop"
    sessions_file.write_text(json.dumps(session_ids))
    stop.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "bench.workers.turn_writer",
        str(db),
        str(sessions_file),
        str(stop),
        str(interval),
    ]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=child_environment({}))
    try:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the writer process did not start")
        time.sleep(SETTLE_S)
        start = time.perf_counter()
        result = operation()
        during = time.perf_counter() - start
        time.sleep(SETTLE_S)
    finally:
        stop.touch()
        output, _ = child.communicate(timeout=120)
    if child.returncode != 0:
        raise RuntimeError(f"the writer process exited with {child.returncode}")
    raw = json.loads(output.strip().splitlines()[-1])
    worst = max(raw["durations"]) * 1000 if raw["durations"] else None
    if worst is None:
        raise RuntimeError("the writer wrote nothing")
    return result, WriterReport(raw["writes"], raw["errors"], worst, during)
