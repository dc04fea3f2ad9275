"""The REPL's input history: one private file per user, written only if it is ours.

Everything typed lands here, so it is created 0600, never reached through a symlink and
never appended to when another account owns it: such a file gets a one-line warning and
the session keeps its lines in memory only. The format is prompt-toolkit's `FileHistory`
(`# time` then `+line` per line), so earlier files read as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime

from prompt_toolkit.history import History, InMemoryHistory

from todochat import private


class PrivateFileHistory(History):
    """A `FileHistory` that opens its file without following symlinks and only if it is
    ours; once it cannot be written (disk full, permissions), it keeps the session's lines
    in memory only, and `failure` says why, for the REPL to warn once."""

    def __init__(self, filename: str):
        super().__init__()
        self.filename = filename
        self.failure: str | None = None
        self._broken = False

    def load_history_strings(self) -> Iterable[str]:
        try:
            fd = os.open(self.filename, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return []
        with os.fdopen(fd, "rb") as file:
            if private.not_ours(os.fstat(fd)):
                return []
            return reversed(list(_entries(file)))

    def store_string(self, string: str) -> None:
        if self._broken:
            return
        try:
            self._append(string)
        except OSError as exc:
            self._broken = True
            self.failure = (
                f"cannot write the input history {self.filename} ({exc.strerror or exc}); "
                "this session's lines are kept in memory only"
            )

    def _append(self, string: str) -> None:
        fd = private.open_file(self.filename, os.O_WRONLY | os.O_APPEND)
        with os.fdopen(fd, "ab") as file:
            if why := private.not_ours(os.fstat(fd)):
                raise OSError(f"it is {why}")
            lines = "".join(f"+{line}\n" for line in string.split("\n"))
            file.write(f"\n# {datetime.now()}\n{lines}".encode())


def _entries(file) -> Iterable[str]:
    """The entries of a history file, oldest first (`+` lines; anything else separates)."""
    lines: list[str] = []
    for raw in file:
        line = raw.decode("utf-8", errors="replace")
        if line.startswith("+"):
            lines.append(line[1:])
        elif lines:
            yield "".join(lines)[:-1]
            lines = []
    if lines:
        yield "".join(lines)[:-1]


class MemoryOnlyHistory(InMemoryHistory):
    """This session's lines only; `failure` is the warning shown once at the start."""

    def __init__(self, failure: str | None = None):
        super().__init__()
        self.failure = failure


def open_history(path: str) -> History:
    """The user's input history file, created private: it holds everything they typed.

    A file that is not ours (a symlink, another account's, not a regular file) is left
    untouched, with a warning; one that cannot be created (read-only data dir) must not stop
    the chat either: the REPL keeps this session's lines in memory only.
    """
    try:
        private.create_file(path)
        found = os.lstat(path)
    except OSError:
        return MemoryOnlyHistory()
    if why := private.not_ours(found):
        return MemoryOnlyHistory(
            f"the input history {path} is {why}: it was left untouched, and this session's "
            "lines are kept in memory only"
        )
    return PrivateFileHistory(path)
