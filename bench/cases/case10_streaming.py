"""Case 10: a long reply streamed onto a terminal, beside a plain `print` of the same chunks.

Both write to the same pseudo-terminal (a thread drains it, as a terminal would): the REPL's
`StreamedReply` renders Markdown as it arrives, the baseline prints each chunk and flushes.
The chunks are words, as a model streams them; the reply mixes paragraphs, lists, headings
and code blocks. A third figure renders the whole reply as Markdown once (the floor for any
Markdown display): streaming that costs about the floor at every size is linear.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import termios
import threading
import time
from collections.abc import Callable

from bench.report import Figure, Target
from bench.workspace import Workspace

NUMBER = 10
TITLE = "streamed reply"
SIZES = {"full": (64 * 1024, 1024 * 1024), "quick": (16 * 1024, 64 * 1024)}
ROWS, COLUMNS = 40, 120


def reply_text(size: int) -> str:
    """Markdown of about `size` bytes: a heading, prose, a list and a code block, repeated."""
    section = (
        "## Step {n}\n\n"
        "Here is what to do next, with **bold** words, `code` and a [link](https://example.org). "
        "The paragraph goes on for a while so that it wraps on a normal terminal width.\n\n"
        "- buy groceries for the week\n- call the plumber about the sink\n- pay rent\n\n"
        "```python\nfor task in tasks:\n    print(task.number, task.title)\n```\n\n"
    )
    parts, total, n = [], 0, 0
    while total < size:
        n += 1
        parts.append(section.format(n=n))
        total += len(parts[-1])
    return "".join(parts)[:size]


def chunks_of(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


class Pty:
    """A pseudo-terminal of ROWS x COLUMNS whose output is read and thrown away."""

    def __init__(self):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.file = os.fdopen(slave, "w", encoding="utf-8", buffering=1)
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        try:
            while os.read(self.master, 65536):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self.file.close()
        self.thread.join(timeout=5)
        os.close(self.master)


def plain(file, chunks: list[str]) -> None:
    for chunk in chunks:
        print(chunk, end="", file=file, flush=True)
    print(file=file, flush=True)


def streamed(file, chunks: list[str]) -> None:
    from rich.console import Console

    from todochat.ui.render import StreamedReply

    console = Console(file=file, width=COLUMNS, height=ROWS, highlight=False, markup=False)
    if not console.is_terminal:
        raise RuntimeError("the pseudo-terminal is not seen as a terminal")
    with StreamedReply(console) as reply:
        for chunk in chunks:
            reply.add(chunk)


def rendered_once(file, chunks: list[str]) -> None:
    """The floor: the whole reply rendered as Markdown once, as if it had arrived at once."""
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(file=file, width=COLUMNS, height=ROWS, highlight=False, markup=False)
    console.print(Markdown("".join(chunks)))


def timed(write: Callable, chunks: list[str]) -> float:
    terminal = Pty()
    try:
        start = time.perf_counter()
        write(terminal.file, chunks)
        return time.perf_counter() - start
    finally:
        terminal.close()


def run(ws: Workspace) -> list[Figure]:
    timed(rendered_once, chunks_of(reply_text(4096)))  # imports and lexers, untimed
    figures = []
    for size in SIZES[ws.scale.name]:
        chunks = chunks_of(reply_text(size))
        label = f"{size // 1024} KB"
        baseline = timed(plain, chunks)
        floor = timed(rendered_once, chunks)
        rendering = timed(streamed, chunks)
        figures += [
            Figure(f"plain print, {label} in {len(chunks):,} chunks", baseline, "s"),
            Figure(f"Markdown rendered once, {label}", floor, "s"),
            Figure(f"streamed Markdown on a pty, {label}", rendering, "s"),
            Figure(f"streamed / plain, {label}", rendering / baseline, "x", Target("<=", 2.0)),
            Figure(f"streamed / rendered once, {label}", rendering / floor, "x", Target("<=", 1.5)),
        ]
    return figures
