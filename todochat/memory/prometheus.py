"""Agent-memory totals in the Prometheus text exposition format (node_exporter's textfile).

A data format, not a view: core code, so that anything may export the same gauges.
"""

from __future__ import annotations

from typing import Any

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


def prometheus_text(figures: dict[str, Any]) -> str:
    """`SessionManager.totals()` figures as gauges, one alert gauge per spec threshold."""
    lines = []
    for key, help_text in METRICS:
        if figures[key] is None:  # never measured: no sample rather than a made-up one
            continue
        metric = PREFIX + key
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge"]
        lines.append(f"{metric} {float(figures[key]):g}")
    measured = figures.get("corrupt_items_measured_at")
    if measured is not None:
        metric = PREFIX + "corrupt_items_measured_timestamp_seconds"
        lines += [
            f"# HELP {metric} When corrupt_items was measured (Unix time).",
            f"# TYPE {metric} gauge",
            f"{metric} {measured.timestamp():.0f}",
        ]
    metric = PREFIX + "alert"
    lines += [
        f"# HELP {metric} 1 when a spec alert threshold is crossed.",
        f"# TYPE {metric} gauge",
    ]
    for alert, firing in figures["alerts"].items():
        lines.append(f'{metric}{{alert="{alert}"}} {int(firing)}')
    return "\n".join(lines) + "\n"
