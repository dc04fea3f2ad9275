"""How big a run is: the full scale of the issue, or `--quick` (small, part of the test suite)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    sessions: int
    items_per_session: int
    read_repeats: int
    turn_repeats: int
    prune_repeats: int
    stats_repeats: int
    startup_repeats: int
    workers: int
    turns_per_worker: int
    storage_days: int
    writer_interval_s: float = 0.020
    # The app database of the log's cases (11-13): conversations, messages, the long one.
    app_conversations: int = 20_000
    app_messages: int = 2_000_000
    long_conversation: int = 5_000
    log_repeats: int = 200
    machine_turns: int = 100  # case 14: turns per process, 2 machines x 2 processes
    open_tasks: int = 2_000  # case 15: the heaviest user's open tasks
    memory_limit: int = 200  # case 16: the agent-memory item limit a rebuild fills
    repl_pause_s: float = 3.0  # case 17: how long the person "types" before the first message
    repl_repeats: int = 7  # case 17: REPL runs and command rounds
    neighbours: int = 0  # case 18: CPU-busy neighbour processes (0: one per CPU)
    alone_s: float = 20.0  # case 18: the writer beside the neighbours, no cleanup
    server_clients: int = 50  # case 19: clients of `todochat serve` at once
    server_messages: int = 20  # case 19: messages each client sends

    def as_dict(self) -> dict:
        return asdict(self)


FULL = Scale(
    name="full",
    sessions=10_000,
    items_per_session=200,
    read_repeats=1_000,
    turn_repeats=60,
    prune_repeats=500,
    stats_repeats=7,
    startup_repeats=7,
    workers=4,
    turns_per_worker=100,
    storage_days=7,
)

QUICK = Scale(
    name="quick",
    sessions=200,
    items_per_session=200,
    read_repeats=200,
    turn_repeats=12,
    prune_repeats=100,
    stats_repeats=3,
    startup_repeats=2,
    workers=4,
    turns_per_worker=6,
    storage_days=7,
    app_conversations=200,
    app_messages=20_000,
    long_conversation=50,
    log_repeats=20,
    machine_turns=3,
    open_tasks=200,
    memory_limit=20,
    repl_pause_s=0.5,
    repl_repeats=1,
    alone_s=1.0,
    server_clients=3,
    server_messages=2,
)
