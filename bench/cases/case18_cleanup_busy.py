"""Case 18: case 4 again with the CPUs busy: cleanup and its baseline beside busy neighbours.

A nightly cleanup need not have the machine to itself. While the naive delete runs, and
then while ours runs, CPU-busy neighbour processes (one per CPU unless `--neighbours` says
otherwise; `bench.neighbours`) compete with the cleanup and with the writer alike, so the
ratio compares like with like. Same targets as case 4. After our cleanup the writer goes on
beside the neighbours a while (`Scale.alone_s`) with no cleanup: the stall the busy CPUs
alone cause, for reference.

A case of its own rather than rows of case 4: `--case 4` stays as long as it was, `--case 18`
runs alone, and its rows keep case 4's names beside their own number.
"""

from __future__ import annotations

from bench.cases import case4_cleanup as case4
from bench.neighbours import default_count
from bench.report import Figure
from bench.workspace import Workspace

NUMBER = 18
TITLE = "cleanup under load, CPUs busy"


def run(ws: Workspace) -> list[Figure]:
    count = ws.scale.neighbours or default_count()
    naive = case4.run_one(ws, "case18-naive", case4.naive_cleanup, count)
    ours = case4.run_one(ws, "case18-ours", case4.our_cleanup, count, ws.scale.alone_s)
    return [
        Figure("busy neighbour processes", count, "count"),
        *case4.figures(naive, ours),
        Figure("writer worst stall, neighbours alone (no cleanup)", ours["after_stall_ms"], "ms"),
    ]
