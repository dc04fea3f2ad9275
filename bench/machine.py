"""What the run ran on: printed with the table, since figures mean little without it."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def describe() -> dict:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gb": memory_gb(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "executable": sys.executable,
    }


def one_line(machine: dict) -> str:
    return (
        f"{machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gb']} GB RAM, "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, {machine['platform']}"
    )
