"""Case 17: the first reply without waiting, and data commands on the app database at scale.

The REPL runs in a real pseudo-terminal on the generated log (SQLite): the time until its
prompt is ready, then a pause while the person "types" (3 s at full scale), then how long
after Enter the first reply starts, and the second. Beside it, the wall time of `chat -m`,
`tasks`, `conversations` and `history` of the long conversation, and `import agents`.
"""

from __future__ import annotations

import sys
import time

from bench.applog import QUERIES
from bench.cases.case6_startup import wall_time
from bench.report import Figure, Target
from bench.stats import median
from bench.workspace import Workspace, child_environment

NUMBER = 17
TITLE = "first reply and data commands at scale"
CPR_REQUEST = "\x1b[6n"
PROMPT = "\x1b[?2004h"  # prompt-toolkit enables bracketed paste when a prompt is ready


def _until(child, pattern: str, timeout: float = 60) -> float:
    """Wait for `pattern` (answering cursor-position requests); the moment it was seen."""
    while True:
        index = child.expect_exact([CPR_REQUEST, pattern], timeout=timeout)
        if index == 1:
            return time.perf_counter()
        child.send("\x1b[20;1R")


def repl_once(env: dict, pause: float, n: int) -> tuple[float, float, float]:
    """Seconds to the prompt, from Enter to the first reply's first word, and to the second's."""
    import pexpect

    start = time.perf_counter()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "todochat", "chat"],
        env=env,
        dimensions=(40, 120),
        encoding="utf-8",
    )
    try:
        prompt = _until(child, PROMPT) - start
        time.sleep(pause)
        replies = []
        for word in ("first", "second"):
            child.send(f"add bench probe {word} {n}\r")
            sent = time.perf_counter()
            _until(child, "Added")
            replies.append(time.perf_counter() - sent)
            _until(child, PROMPT)
        child.send("\x04")
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close(force=True)
    return prompt, replies[0], replies[1]


def run(ws: Workspace) -> list[Figure]:
    log = ws.app_log()
    memory = ws.scratch_memory()
    env = child_environment(
        ws.environment("case17", memory, log.sqlite_url, TERM="xterm", PYTHONUNBUFFERED="1")
    )
    samples = [repl_once(env, ws.scale.repl_pause_s, n) for n in range(ws.scale.repl_repeats)]
    prompt, first, second = (median([s[i] for s in samples]) for i in range(3))
    figures = [
        Figure("pause before the first message", ws.scale.repl_pause_s, "s"),
        Figure("REPL time to prompt", prompt, "s", Target("<=", 0.6)),
        Figure("first reply starts after Enter", first, "s", Target("<=", 0.3)),
        Figure("second reply starts after Enter", second, "s"),
    ]
    return figures + command_walls(env, log.long_conversation.hex[:8], ws.scale.repl_repeats)


def command_walls(env: dict, conversation: str, repeats: int) -> list[Figure]:
    # Two floors: the SDK's import (what `chat -m` cannot avoid) and SQLAlchemy's (what every
    # command reading the app database cannot avoid).
    floors = {
        "python -c 'import agents'": [sys.executable, "-c", "import agents"],
        "python -c 'import sqlalchemy.orm'": [sys.executable, "-c", "import sqlalchemy.orm"],
    }
    commands = {
        **{name: (args, None) for name, args in floors.items()},
        "todochat chat -m": (["chat", "-m", "add bench wall probe"], None),
        "todochat tasks": (["tasks"], 0.5),
        "todochat conversations": (["conversations"], 0.5),
        "todochat search": (["search", QUERIES[0]], 0.5),
        "todochat history (long conversation)": (["history", conversation], 1.0),
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, (args, _target) in commands.items():
            command = args if args[0] == sys.executable else [sys.executable, "-m", "todochat"]
            samples[name].append(wall_time(command + ([] if command is args else args), env))
    agents = median(samples["python -c 'import agents'"])
    figures = [Figure(name, median(samples[name]), "s") for name in floors]
    for name, (_args, target) in list(commands.items())[len(floors) :]:
        wall = median(samples[name])
        figures.append(Figure(name, wall, "s", Target("<=", target) if target else None))
        figures.append(Figure(f"{name} / import agents", wall / agents, "x"))
    return figures
