"""Agent-memory totals in the Prometheus text exposition format (node_exporter's textfile).

A data format, not a view: core code, so that anything may export the same figures. The
alerting rules that read them ship in `monitoring/todochat-alerts.yml`. Hand-written rather
than `prometheus_client`: see bench/README.md, "Libraries and start-up cost".
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from todochat.errors import TodochatError
from todochat.memory.metrics import OUTCOMES

PREFIX = "todochat_agent_memory_"
METRICS = (
    ("sessions", "Agent sessions in the file."),
    ("active_sessions", "Sessions written to within the retention period."),
    ("sessions_due_for_cleanup", "Sessions idle past retention."),
    ("items", "Items (messages, tool calls, outputs) in agent memory."),
    ("average_items_per_session", "Items per session."),
    ("corrupt_items", "Items that are not a JSON object, as last measured (see _measured)."),
    ("orphan_items", "Items whose session row is gone."),
    ("database_bytes", "Size of the file plus its WAL."),
    ("wal_bytes", "Size of the write-ahead log."),
)
QUANTILES = (("0.5", "p50"), ("0.95", "p95"))
Sample = tuple[str, str, float | None]  # (name suffix, labels, value); None is NaN


def prometheus_text(figures: dict[str, Any]) -> str:
    """`SessionManager.totals()` figures as gauges and summaries, one alert gauge per alert."""
    lines = []
    for key, help_text in METRICS:
        if figures[key] is not None:  # never measured: no sample rather than a made-up one
            lines += metric(key, "gauge", help_text, [("", "", figures[key])])
    measured = figures.get("corrupt_items_measured_at")
    if measured is not None:
        lines += _timestamp("corrupt_items_measured", "When corrupt_items was measured", measured)
    lines += _cleanup(figures["cleanup"]) + _latency(figures["latency"])
    alerts = [("", f'alert="{name}"', int(firing)) for name, firing in figures["alerts"].items()]
    lines += metric("alert", "gauge", "1 when a spec alert threshold is crossed.", alerts)
    return "\n".join(lines) + "\n"


def metric(name: str, kind: str, help_text: str, samples: list[Sample]) -> list[str]:
    """One metric family: HELP, TYPE and its samples (`name{labels} value`)."""
    full = PREFIX + name
    lines = [f"# HELP {full} {help_text}", f"# TYPE {full} {kind}"]
    for suffix, labels, value in samples:
        braces = f"{{{labels}}}" if labels else ""
        lines.append(f"{full}{suffix}{braces} {_number(value)}")
    return lines


def _number(value: float | None) -> str:
    if value is None:
        return "NaN"
    return str(value) if isinstance(value, int) else repr(float(value))


def _timestamp(name: str, what: str, moment: datetime) -> list[str]:
    metric_name = f"{name}_timestamp_seconds"
    return metric(metric_name, "gauge", f"{what} (Unix time).", [("", "", moment.timestamp())])


def _cleanup(health: dict[str, Any]) -> list[str]:
    """Runs by outcome, success ratio, and the last attempt and success (absent when none)."""
    runs = [("", f'outcome="{name}"', health["runs"][name]) for name in OUTCOMES]
    lines = metric("cleanup_runs", "gauge", "Cleanup runs among those recorded, by outcome.", runs)
    if health["success_rate"] is not None:
        lines += metric(
            "cleanup_success_ratio",
            "gauge",
            "Successful cleanup runs / attempts (ok, failed, interrupted) among those recorded.",
            [("", "", health["success_rate"])],
        )
    last = health["last_attempt"]
    if last is not None:
        lines += _timestamp(
            "cleanup_last_attempt", "When the last cleanup run started", last["started_at"]
        )
        states = [("", f'outcome="{name}"', int(name == last["outcome"])) for name in OUTCOMES]
        lines += metric(
            "cleanup_last_outcome", "gauge", "1 for the last cleanup run's outcome.", states
        )
    if health["last_success_at"] is not None:
        lines += _timestamp(
            "cleanup_last_success", "When a cleanup last succeeded", health["last_success_at"]
        )
    return lines


def _latency(figures: dict[str, Any]) -> list[str]:
    """Two summaries: quantiles over the recent window, count and sum over the file's life."""
    lines = []
    for name, key, what in (
        ("retrieval_seconds", "retrieval", "Time a chat turn took to get its memory ready"),
        ("turn_outside_model_seconds", "outside_model", "Chat turn time outside the model run"),
    ):
        samples = [("", f'quantile="{q}"', figures[f"{key}_{p}_seconds"]) for q, p in QUANTILES]
        samples += [
            ("_sum", "", figures[f"{key}_seconds_total"]),
            ("_count", "", figures["turns_timed_total"]),
        ]
        help_text = f"{what} (quantiles over the last {figures['window_hours']} hours' turns)."
        lines += metric(name, "summary", help_text, samples)
    return lines


def write_textfile(path: str, text: str) -> None:
    """Replace `path` with `text` at once: a temporary file beside it, renamed over it.

    node_exporter never reads half a file. An existing `path` must be one of ours (empty, or
    our metrics): anything else is refused and left untouched.
    """
    target = Path(path)
    _check_ours(target)
    try:
        _replace(target, text)
    except OSError as exc:
        raise TodochatError(f"cannot write {target}: {exc.strerror or exc}") from None


def _replace(target: Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # node_exporter usually runs as another user
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _check_ours(target: Path) -> None:
    if not target.exists():
        return
    if not target.is_file():
        raise TodochatError(f"{target} is not a regular file; it was left untouched")
    try:
        with open(target, "rb") as file:
            head = file.read(len(f"# HELP {PREFIX}"))
    except OSError as exc:  # not ours to read, so not ours to replace
        raise TodochatError(
            f"cannot read {target} ({exc.strerror or exc}); it was left untouched"
        ) from None
    if head and head != f"# HELP {PREFIX}".encode():
        raise TodochatError(
            f"{target} exists and is not a todochat metrics file; it was left untouched"
        )
