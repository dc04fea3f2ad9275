"""Write one turn every INTERVAL to live sessions until a stop file appears (case 4).

A turn's write is what the turn does to agent memory: the SDK's `add_items`, then our prune.
Each write's start (`time.perf_counter()`, comparable with the parent's) and wall time are
recorded; the longest is the stall a chatting user would feel.
Prints "ready" once imported, and one JSON line of results at the end.

    python -m bench.workers.turn_writer DB SESSIONS_FILE STOP_FILE INTERVAL
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path


async def write_turns(db: str, session_ids: list[str], stop: Path, interval: float) -> dict:
    from agents import SQLiteSession

    from bench import items as item_shapes
    from todochat.memory.manager import SessionManager

    manager = SessionManager(db, max_messages=200, retention_days=7)
    rng = random.Random(44)
    starts: list[float] = []
    durations: list[float] = []
    errors: list[str] = []
    print("ready", flush=True)
    next_at = time.perf_counter()
    while not stop.exists():
        session = SQLiteSession(rng.choice(session_ids), db)
        start = time.perf_counter()
        try:
            await session.add_items(item_shapes.turn(rng, rng.random() < 0.5))
            await manager.prune_session_messages(session.session_id)
        except Exception as exc:  # a lock error (or any other) is what we count
            errors.append(f"{type(exc).__name__}: {exc}")
        starts.append(start)
        durations.append(time.perf_counter() - start)
        session.close()
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    return {"errors": errors, "starts": starts, "durations": durations}


def main() -> None:
    db, sessions_file, stop, interval = sys.argv[1:5]
    session_ids = json.loads(Path(sessions_file).read_text())
    result = asyncio.run(write_turns(db, session_ids, Path(stop), float(interval)))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
