"""Run something while a second process writes a turn every 20 ms, and collect its stalls.

The writer stamps each write with `time.perf_counter()` (a system-wide monotonic clock on
Linux and macOS), so a stall is counted against the operation it overlapped: the writes of
the settling time before and after, which warm the writer up, are not stalls "during" it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.neighbours import busy_neighbours
from bench.workspace import child_environment

SETTLE_S = 0.3


@dataclass
class WriterReport:
    starts: list[float]  # when each write began (perf_counter)
    durations: list[float]  # how long each took (seconds)
    errors: list[str]
    started: float  # the operation under test ran from `started` to `finished`
    finished: float
    after_s: float = 0.0  # how long the writer went on beside the neighbours afterwards

    @property
    def writes(self) -> int:
        return len(self.durations)

    @property
    def during_seconds(self) -> float:
        return self.finished - self.started

    @property
    def worst_stall_ms(self) -> float:
        """The longest write that overlapped the operation."""
        return self.worst_between(self.started, self.finished)

    @property
    def worst_after_ms(self) -> float:
        """The longest write begun in the `after_s` seconds after the operation ended."""
        after = [
            d
            for s, d in zip(self.starts, self.durations, strict=True)
            if self.finished <= s < self.finished + self.after_s
        ]
        if not after:
            raise RuntimeError("the writer wrote nothing after the operation")
        return max(after) * 1000

    @property
    def lock_errors(self) -> int:
        return sum("locked" in e.lower() for e in self.errors)

    def worst_between(self, start: float, end: float) -> float:
        overlapping = [
            d for s, d in zip(self.starts, self.durations, strict=True) if s < end and s + d > start
        ]
        if not overlapping:
            raise RuntimeError("the writer wrote nothing while the operation ran")
        return max(overlapping) * 1000


def with_writer(
    db: Path,
    session_ids: list[str],
    interval: float,
    operation: Callable[[], object],
    neighbours: int = 0,
    after_s: float = 0.0,
):
    """Start the writer, run `operation` once it is writing, stop it; (result, WriterReport).

    With `neighbours`, that many CPU-busy processes run from the writer's first write to its
    last (started once it is ready, so its start-up is not slowed); `after_s` keeps it
    writing that long after the operation, for the stall the neighbours alone cause.
    """
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
        with busy_neighbours(neighbours):
            time.sleep(SETTLE_S)
            started = time.perf_counter()
            result = operation()
            finished = time.perf_counter()
            time.sleep(max(SETTLE_S, after_s))
    finally:
        stop.touch()
        output, _ = child.communicate(timeout=120)
    if child.returncode != 0:
        raise RuntimeError(f"the writer process exited with {child.returncode}")
    raw = json.loads(output.strip().splitlines()[-1])
    if not raw["durations"]:
        raise RuntimeError("the writer wrote nothing")
    report = WriterReport(
        raw["starts"], raw["durations"], raw["errors"], started, finished, after_s
    )
    return result, report
