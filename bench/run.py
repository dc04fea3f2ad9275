"""Run the suite: generate the data once, run the cases, print the table, write the JSON.

Exit status 1 when any case breaks or any figure is missing; a figure that misses its target
is reported as "short" but does not fail the run (speed is judged by people reading the table,
not by the test suite).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from bench import generate, machine, report
from bench.cases import ALL
from bench.postgres import fresh_database
from bench.scale import FULL, QUICK, Scale
from bench.workspace import Workspace

# Cases 1-8 and 18 use the generated agent-memory file; 11-13 the generated log.
MEMORY_CASES = frozenset((*range(1, 9), 18))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 sessions, few repeats (CI)")
    parser.add_argument(
        "--case",
        type=int,
        action="append",
        choices=[c.NUMBER for c in ALL],
        help="run only this case (repeatable)",
    )
    parser.add_argument(
        "--neighbours",
        type=int,
        default=0,
        metavar="N",
        help="CPU-busy neighbour processes in case 18 (default: one per CPU)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep state here and reuse its generated file (default: a temp dir, removed)",
    )
    args = parser.parse_args(argv)
    if args.neighbours < 0:
        parser.error("--neighbours: give 0 (one per CPU) or more")
    return args


def prepare_data(root: Path, scale: Scale) -> tuple[Path, list, float]:
    """The generated memory file, reused from `root` when it was made at the same scale."""
    path, stamp = root / "generated" / "agent_sessions.db", root / "generated" / "scale.json"
    wanted = json.dumps([scale.sessions, scale.items_per_session])
    if path.exists() and stamp.exists() and stamp.read_text() == wanted:
        return path, generate.read_specs(path), 0.0
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    specs = generate.generate(path, scale.sessions, scale.items_per_session)
    stamp.write_text(wanted)
    return path, specs, time.perf_counter() - start


def run_case(case, ws: Workspace) -> report.CaseResult:
    result = report.CaseResult(case.NUMBER, case.TITLE)
    start = time.perf_counter()
    try:
        result.figures = case.run(ws)
    except Exception as exc:  # a broken case is reported, and the others still run
        traceback.print_exc(file=sys.stderr)
        result.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    result.seconds = time.perf_counter() - start
    print(f"case {case.NUMBER} ({case.TITLE}): {result.seconds:.1f} s", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scale = replace(QUICK if args.quick else FULL, neighbours=args.neighbours)
    cases = [c for c in ALL if not args.case or c.NUMBER in args.case]
    started = time.perf_counter()
    with ExitStack() as stack:
        root = args.workdir or Path(tempfile.mkdtemp(prefix="todochat-bench-"))
        if not args.workdir:
            stack.callback(shutil.rmtree, root, True)
        if any(c.NUMBER in MEMORY_CASES for c in cases):
            memory, specs, generated_s = prepare_data(root, scale)
        else:  # the log's cases alone need no agent-memory file
            memory, specs, generated_s = root / "no-memory.db", [], 0.0
        print(
            f"data: {len(specs)} sessions x {scale.items_per_session} items ({generated_s:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
        postgres_url = stack.enter_context(fresh_database())
        log_url = stack.enter_context(fresh_database())
        ws = Workspace(root, scale, postgres_url, memory, specs, log_url)
        results = [run_case(case, ws) for case in cases]
    host = machine.describe()
    print(
        f"\ntodochat benchmarks, {scale.name} scale ({scale.sessions:,} sessions x {scale.items_per_session} items)"
    )
    print(f"machine: {machine.one_line(host)}\n")
    print(report.render_table(results))
    wall = time.perf_counter() - started
    print(f"\nwall time {wall:.0f} s (data generation {generated_s:.0f} s)")
    if args.json:
        context = {
            "scale": scale.as_dict(),
            "machine": host,
            "wall_seconds": wall,
            "generation_seconds": generated_s,
        }
        args.json.write_text(report.to_json(results, context))
    return 1 if any(r.failed for r in results) else 0
