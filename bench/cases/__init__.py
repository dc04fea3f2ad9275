"""The cases in order: issue 4's eight, then case 9 (several machines, issue 13).

Each module has NUMBER, TITLE and run(workspace).
"""

from importlib import import_module

MODULES = (
    "case1_memory_read",
    "case2_turn",
    "case3_prune",
    "case4_cleanup",
    "case5_stats",
    "case6_startup",
    "case7_concurrency",
    "case8_storage",
    "case9_machines",
)
ALL = tuple(import_module(f"bench.cases.{name}") for name in MODULES)
