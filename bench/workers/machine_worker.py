"""One of case 14's processes: TURNS turns in one shared conversation, as NAME.

Settings come from the environment (the machine's data directory, the shared PostgreSQL
database). Prints "ready" once imported, waits for the go file, runs its turns, and prints
one JSON line: errors, and when each turn's agent run started and ended (the system-wide
monotonic clock, comparable between processes) to find overlapping turns.

    python -m bench.workers.machine_worker NAME TURNS CONVERSATION GO_FILE
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path


async def chat(name: str, turns: int, conversation: str, go: Path) -> dict:
    from todochat.app import App
    from todochat.config import load_settings
    from todochat.turn import ChatService

    runs: list[tuple[int, int]] = []

    class Timed(ChatService):
        async def _run_agent(self, *args, **kwargs):
            started = time.monotonic_ns()
            try:
                return await super()._run_agent(*args, **kwargs)
            finally:
                runs.append((started, time.monotonic_ns()))

    notices: list[str] = []
    service = Timed(App(load_settings()).user(), notice=notices.append)
    service.resume(conversation)
    service._resolved_model()  # the SDK loaded before the start, as in case 7 (its first turn)
    import todochat.agent.todo_agent  # noqa: F401

    errors: list[str] = []
    print("ready", flush=True)
    while not go.exists():
        await asyncio.sleep(0.005)
    for n in range(turns):
        try:
            await service.turn(f"create a task to {name}t{n}")
        except Exception as exc:  # every failure counts; the run goes on
            errors.append(f"{type(exc).__name__}: {exc}")
    service.close()
    return {"errors": errors, "runs": runs, "notices": notices}


def main() -> None:
    name, turns, conversation, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    print(json.dumps(asyncio.run(chat(name, turns, conversation, go))), flush=True)


if __name__ == "__main__":
    main()
