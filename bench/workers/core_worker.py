"""Case 19's baseline: CLIENTS users each sending MESSAGES through the core directly, all at
once in this one process (as the server runs them), timed turn by turn.

Settings come from the environment. One warm-up turn first (imports, the model), then the
clients; prints one JSON line: turn latencies, errors, each user's conversation, seconds.

    python -m bench.workers.core_worker PREFIX CLIENTS MESSAGES
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


def message(client: int, n: int) -> str:
    """A write (add_task, a title of its own) and a read (list_tasks), alternately."""
    return f"create a task to buy item c{client}n{n}" if n % 2 == 0 else "what tasks do I have?"


async def client(app, name: str, index: int, messages: int, out: dict) -> None:
    chat = app.user(name).chat()
    for n in range(messages):
        start = time.perf_counter()
        try:
            await chat.turn(message(index, n))
            out["latencies"].append(time.perf_counter() - start)
        except Exception as exc:  # every failure counts; the run goes on
            out["errors"].append(f"{type(exc).__name__}: {exc}")
    out["conversations"][name] = str(chat.conversation_id)
    chat.close()


async def run(prefix: str, clients: int, messages: int) -> dict:
    from todochat.app import App
    from todochat.config import load_settings

    app = App(load_settings())
    warm = app.user(f"{prefix}warm").chat()
    await warm.turn(message(0, 0))
    warm.close()
    out: dict = {"latencies": [], "errors": [], "conversations": {}}
    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client(app, f"{prefix}{c}", c, messages, out) for c in range(clients)))
    out["seconds"] = time.perf_counter() - start
    out["cpu_seconds"] = time.process_time() - cpu  # this process's, every thread's
    return out


def main() -> None:
    prefix, clients, messages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(asyncio.run(run(prefix, clients, messages))), flush=True)


if __name__ == "__main__":
    main()
