"""One of case 7's processes: TURNS turns through the turn service in a new conversation.

Settings come from the environment. Prints "ready" once imported and its first turn is done,
waits for the go file, runs the rest, and prints one JSON line: ids, turns, errors.

    python -m bench.workers.chat_worker USER TURNS GO_FILE
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path


async def chat(user: str, turns: int, go: Path) -> dict:
    from bench.conversation import turn_text
    from todochat.app import App
    from todochat.config import load_settings

    service = App(load_settings()).user(user).chat()
    errors: list[str] = []
    for n in range(turns):
        if n == 1:
            print("ready", flush=True)
            while not go.exists():
                await asyncio.sleep(0.005)
        try:
            await service.turn(turn_text(n))
        except Exception as exc:  # every failure counts; the run goes on
            errors.append(f"{type(exc).__name__}: {exc}")
    finished = time.time()
    return {
        "user_id": str(service.user_id),
        "conversation_id": str(service.conversation_id),
        "session_id": service.session_id,
        "errors": errors,
        "finished": finished,
    }


def main() -> None:
    user, turns, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    print(json.dumps(asyncio.run(chat(user, turns, go))), flush=True)


if __name__ == "__main__":
    main()
