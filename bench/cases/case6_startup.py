"""Case 6: wall time to run admin commands, beside `python -c pass` and `import agents`.

Commands run round-robin (one of each per round) so drift hits all alike; the median counts.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench.report import Figure, Target
from bench.stats import median
from bench.workspace import Workspace, child_environment

NUMBER = 6
TITLE = "start-up"
REFERENCES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import agents'": [sys.executable, "-c", "import agents"],
}
COMMANDS = {
    "todochat --help": ["--help"],
    "todochat sessions stats": ["sessions", "stats"],
    "todochat cleanup --dry-run": ["cleanup", "--dry-run"],
}


def wall_time(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[1:])} exited {done.returncode}: {done.stderr.strip()}"
        )
    return elapsed


def run(ws: Workspace) -> list[Figure]:
    memory = ws.scratch_memory()  # a dry run should not write, but it runs on a copy anyway
    env = child_environment(ws.environment("case6", memory, ws.sqlite_app_url("case6")))
    commands = {
        **REFERENCES,
        **{k: [sys.executable, "-m", "todochat", *v] for k, v in COMMANDS.items()},
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(ws.scale.startup_repeats):
        for name, command in commands.items():
            samples[name].append(wall_time(command, env))
    medians = {name: median(values) for name, values in samples.items()}
    agents_time = medians["python -c 'import agents'"]
    figures = [Figure(name, medians[name], "s") for name in REFERENCES]
    for name in COMMANDS:
        figures.append(Figure(name, medians[name], "s", Target("<=", 0.5)))
        figures.append(
            Figure(f"{name} / import agents", medians[name] / agents_time, "x", Target("<=", 0.40))
        )
    return figures
