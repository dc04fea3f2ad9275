"""Figures, their targets, and the one table (text and JSON) a run produces.

A figure without a value is an error, never "ok": a case that breaks shows up as ERROR and
makes the run fail, whatever the other figures say.
"""

from __future__ import annotations

import json
import operator
from dataclasses import asdict, dataclass, field
from typing import Any

COMPARE = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}


@dataclass(frozen=True)
class Target:
    op: str
    limit: float

    def met_by(self, value: float) -> bool:
        return COMPARE[self.op](value, self.limit)


@dataclass
class Figure:
    """One measured number; `target` None marks a baseline or context figure ("ref")."""

    name: str
    value: float | None
    unit: str
    target: Target | None = None

    @property
    def status(self) -> str:
        if self.value is None:
            return "ERROR"
        if self.target is None:
            return "ref"
        return "ok" if self.target.met_by(self.value) else "short"


@dataclass
class CaseResult:
    number: int
    title: str
    figures: list[Figure] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None or any(f.value is None for f in self.figures)


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("count", "errors", "items", "sessions", "rows"):
        return f"{value:,.0f}"
    if unit == "bytes":
        return f"{value / 1e6:,.1f} MB" if value >= 1e6 else f"{value:,.0f} B"
    if unit == "x":
        return f"{value:.2f}x"
    if abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def format_target(figure: Figure) -> str:
    if figure.target is None:
        return ""
    return f"{figure.target.op} {format_value(figure.target.limit, figure.unit)}"


def table_rows(results: list[CaseResult]) -> list[tuple[str, str, str, str]]:
    rows = []
    for result in results:
        for figure in result.figures:
            rows.append(
                (
                    f"{result.number}. {figure.name}",
                    format_value(figure.value, figure.unit),
                    format_target(figure),
                    figure.status,
                )
            )
        if result.error:
            rows.append((f"{result.number}. {result.title}", "—", "", f"ERROR: {result.error}"))
    return rows


def render_table(results: list[CaseResult]) -> str:
    """A Markdown table, readable in a terminal and pasteable into the README."""
    header = ("figure", "value", "target", "status")
    rows = table_rows(results)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def to_json(results: list[CaseResult], context: dict[str, Any]) -> str:
    cases = []
    for result in results:
        entry = asdict(result)
        for figure, raw in zip(result.figures, entry["figures"], strict=True):
            raw["status"] = figure.status
        cases.append(entry)
    ok = not any(r.failed for r in results)
    return json.dumps({**context, "ok": ok, "cases": cases}, indent=2)
