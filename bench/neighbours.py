"""CPU-busy neighbour processes: other work on the machine, as a shared server has it.

Each neighbour is a pure-Python busy loop at normal priority, so the scheduler shares the
CPUs between it and whatever is measured beside it, as it would with a build or another
program running next to a nightly cleanup.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

BUSY_LOOP = "while True:\n    pass\n"


def default_count() -> int:
    """One neighbour per CPU: every CPU has something else that wants it."""
    return os.cpu_count() or 1


@contextmanager
def busy_neighbours(count: int) -> Iterator[list[subprocess.Popen]]:
    """Run `count` busy processes for the duration of the block, then kill them."""
    children = [
        subprocess.Popen([sys.executable, "-c", BUSY_LOOP], stdin=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        yield children
    finally:
        for child in children:
            child.kill()
        for child in children:
            child.wait()
