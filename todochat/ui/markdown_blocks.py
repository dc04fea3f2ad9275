"""Split streamed Markdown into settled blocks and an open tail, in one pass over the text.

A block settles when a new top-level block starts after a blank line (outside a fenced code
block, and not an indented continuation of a list item): nothing later can change how it
renders, so it is rendered once. Only the open tail is rendered again as text arrives, which
keeps streaming linear in the reply's length. No Rich here: the renderer decides how to draw.
"""

from __future__ import annotations

import re

FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


class MarkdownBlocks:
    """Feed text as it arrives; `feed` returns the blocks that settled, `tail` the rest."""

    def __init__(self) -> None:
        self._partial = ""  # the last line, not yet ended by a newline
        self._lines: list[str] = []  # the open block's complete lines
        self._fence: str | None = None  # the open fence's marker, inside a code block
        self._after_blank = False
        self._has_text = False  # the open block has a non-blank line

    def feed(self, text: str) -> list[str]:
        settled: list[str] = []
        *complete, self._partial = (self._partial + text).split("\n")
        for line in complete:
            block = self._line(line)
            if block:
                settled.append(block)
        return settled

    @property
    def tail(self) -> str:
        """The text that has not settled yet (what a final render must still show)."""
        return "\n".join([*self._lines, self._partial]).strip("\n")

    def _line(self, line: str) -> str | None:
        """Take one complete line; return the block it closed, if any."""
        closed = None
        stripped = line.strip()
        if self._fence is not None:
            if stripped.startswith(self._fence) and not stripped.strip(self._fence[0]):
                self._fence = None
        elif not stripped:
            self._after_blank = self._has_text
        else:
            if self._after_blank and not line[0].isspace():
                closed = "\n".join(self._lines).strip("\n")
                self._lines = []
            self._after_blank, self._has_text = False, True
            opening = FENCE.match(line)
            if opening:
                self._fence = opening.group(1)
        self._lines.append(line)
        return closed or None
