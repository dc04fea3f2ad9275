"""The cases, in order: 1-8 agent memory (issue 4), 9 the offline model (issue 9), 10 the
streamed reply (issue 8), 11-13 the log (issue 11), 14 several machines (issue 13), 15-17 the app
database at scale and the first reply (issue 14), 18 case 4 with the CPUs busy (issue 14),
19 the HTTP server (issue 20).
Each module has NUMBER, TITLE and run(workspace)."""

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
    "case9_offline_model",
    "case10_streaming",
    "case11_search",
    "case12_conversations",
    "case13_history",
    "case14_machines",
    "case15_instructions",
    "case16_rebuild",
    "case17_first_reply",
    "case18_cleanup_busy",
    "case19_server",
)
ALL = tuple(import_module(f"bench.cases.{name}") for name in MODULES)
