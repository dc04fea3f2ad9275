"""The benchmark suite at `--quick` scale, so it cannot rot.

This checks that every case runs and measures every figure; it does not check the targets
(speed is judged by the full benchmark run, not by timed unit tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from numbers import Real
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CASES = set(range(1, 20))


def test_quick_benchmark_measures_every_case(tmp_path):
    output = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENT_SESSION"))}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(output)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| figure" in done.stdout and "| status" in done.stdout

    results = json.loads(output.read_text())
    assert results["ok"] is True
    assert {case["number"] for case in results["cases"]} == CASES
    for case in results["cases"]:
        assert case["error"] is None, case
        assert case["figures"], case
        for figure in case["figures"]:
            assert isinstance(figure["value"], Real), figure
            assert figure["status"] in ("ok", "short", "ref"), figure
            assert f"{case['number']}. {figure['name']}" in done.stdout
