"""What the recorded cleanup runs and turn timings say: the spec's health figures and alerts.

Pure computation on rows `store` read, so `sessions stats` (text, JSON, Prometheus) and the
alerting rules agree. Definitions, for the README and the rules file:

- A cleanup run's outcome is `ok`, `failed`, `skipped` (another run held the cleanup lock),
  `running` (no end yet, the cleanup lock is held now, and no later run got through) or
  `interrupted` (no end otherwise: it was killed midway).
- The success rate is `ok / (ok + failed + interrupted)` over the recorded runs: a skipped
  run left the work to the run that held the lock, and a running one has no outcome yet.
- Runs are expected once one has been recorded in this file (the first `cleanup` on it).
  A file that never saw one (no cron line yet, a laptop) raises no cleanup alert.
- `cleanup_failed`: the newest run with an outcome (skipped and running set aside) failed
  or was interrupted. `cleanup_stale`: runs are expected and none succeeded for more than
  26 hours (counted from the oldest recorded start when none ever did).
- Retrieval is the time a turn took to get its memory ready (`TurnMemory.prepare`); see
  `TurnClock`. Percentiles cover the turns of the last 24 hours in the ring.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from todochat.memory.store import CleanupRun, TurnTiming

STALE_AFTER_SECONDS = 26 * 3600
RETRIEVAL_P95_ALERT_SECONDS = 0.100
WINDOW_SECONDS = 24 * 3600
OUTCOMES = ("ok", "failed", "skipped", "interrupted", "running")
DECIDED = ("ok", "failed", "interrupted")


@dataclass
class TurnClock:
    """Clock readings of one chat turn (`time.perf_counter`), for what `finish` records.

    `retrieval` is what `TurnMemory.prepare` took: opening the memory file, the checks that
    read every stored row of the conversation, repairs, a rebuild from the log when memory
    was empty, and making the SDK session. The SDK reads the same items again inside
    `Runner.run` (decoding at most AGENT_SESSION_MAX_MESSAGES of them from pages just read);
    that read is inside the model run, which we time as a whole and wrap nothing of.
    `outside_model` is the turn from its start (saving the message, waiting for the turn
    lock) to the prune's write, less the model run and `start_up` (importing the Agents
    SDK, once per process: a second or more, which would otherwise swamp a process's
    first turn).
    """

    started: float = field(default_factory=time.perf_counter)
    start_up: float = 0.0
    retrieval: float = 0.0
    model: float = 0.0

    @contextmanager
    def measure(self, part: str) -> Iterator[None]:
        """Add the time the block takes to `part` (`start_up`, `retrieval` or `model`)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            setattr(self, part, getattr(self, part) + time.perf_counter() - started)

    def timing(self) -> TurnTiming:
        """The figures to record now, at the prune's write."""
        outside = time.perf_counter() - self.started - self.model - self.start_up
        return TurnTiming(self.retrieval, max(outside, 0.0))

    @classmethod
    def start(cls) -> TurnClock:
        """A clock for the turn starting now, found by `current_clock` within it (in its
        task and the threads it hands work to), so no signature carries it."""
        clock = cls()
        _CLOCK.set(clock)
        return clock


_CLOCK: ContextVar[TurnClock | None] = ContextVar("todochat_turn_clock", default=None)


def current_clock() -> TurnClock | None:
    """The clock of the turn running in this context; None outside a turn."""
    return _CLOCK.get()


def run_outcomes(runs: Sequence[CleanupRun], lock_held: bool) -> list[str]:
    """Each run's outcome (newest first). A run without an end is `running` while a cleanup
    holds the lock, unless a later run got through (ok or failed): then it is long dead."""
    found, settled = [], False
    for run in runs:
        if run.outcome is None:
            found.append("running" if lock_held and not settled else "interrupted")
        else:
            found.append(run.outcome)
            settled = settled or run.outcome in ("ok", "failed")
    return found


def cleanup_health(runs: Sequence[CleanupRun], lock_held: bool, now: float) -> dict[str, Any]:
    """Last attempt, last success, success rate and the two cleanup alerts (runs newest first)."""
    outcomes = run_outcomes(runs, lock_held)
    counts = {name: outcomes.count(name) for name in OUTCOMES}
    decided = sum(counts[name] for name in DECIDED)
    last_success = next((r for r, o in zip(runs, outcomes, strict=True) if o == "ok"), None)
    last_decided = next((o for o in outcomes if o in DECIDED), None)
    since = last_success.finished_at if last_success else (runs[-1].started_at if runs else now)
    return {
        "expected": bool(runs),
        "runs": counts,
        "last_attempt": _attempt(runs[0], outcomes[0]) if runs else None,
        "last_success_at": _moment(last_success.finished_at) if last_success else None,
        "success_rate": counts["ok"] / decided if decided else None,
        "alerts": {
            "cleanup_failed": last_decided in ("failed", "interrupted"),
            "cleanup_stale": bool(runs) and now - since > STALE_AFTER_SECONDS,
        },
    }


def _attempt(run: CleanupRun, result: str) -> dict[str, Any]:
    return {
        "started_at": _moment(run.started_at),
        "finished_at": _moment(run.finished_at),
        "outcome": result,
        "error": run.error,
        "sessions": run.sessions,
        "items": run.items,
        "orphan_items": run.orphan_items,
        "bytes_freed": run.bytes_freed,
    }


def _moment(unix: float | None) -> datetime | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC)


def latency(timings: Sequence[TurnTiming], totals: dict[str, int]) -> dict[str, Any]:
    """p50/p95 of retrieval and of the turn outside the model (seconds; None without turns)."""
    retrieval = sorted(t.retrieval for t in timings)
    outside = sorted(t.outside_model for t in timings)
    p95 = percentile(retrieval, 0.95)
    return {
        "window_turns": len(timings),
        "window_hours": WINDOW_SECONDS // 3600,
        "retrieval_p50_seconds": percentile(retrieval, 0.5),
        "retrieval_p95_seconds": p95,
        "outside_model_p50_seconds": percentile(outside, 0.5),
        "outside_model_p95_seconds": percentile(outside, 0.95),
        "turns_timed_total": totals["turns_timed"],
        "retrieval_seconds_total": totals["retrieval_microseconds"] / 1e6,
        "outside_model_seconds_total": totals["outside_model_microseconds"] / 1e6,
        "alerts": {"retrieval_p95": p95 is not None and p95 > RETRIEVAL_P95_ALERT_SECONDS},
    }


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile of sorted values; None when there are none."""
    if not ordered:
        return None
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]
