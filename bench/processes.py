"""Worker processes of the concurrency cases: each prints "ready", works, then one JSON line."""

from __future__ import annotations

import json
import subprocess


def finish(workers: list[subprocess.Popen], timeout: float) -> tuple[list[dict], int]:
    """The reports of the workers that finished, and how many crashed (their turns are errors)."""
    reports, crashed = [], 0
    for worker in workers:
        output, _ = worker.communicate(timeout=timeout)
        lines = output.strip().splitlines()
        if worker.returncode != 0 or not lines:
            crashed += 1
            continue
        reports.append(json.loads(lines[-1]))
    return reports, crashed
