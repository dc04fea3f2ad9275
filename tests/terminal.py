"""A real terminal for REPL tests: `python -m todochat` in a pty (pexpect), 40x120, TERM=xterm.

prompt-toolkit asks the terminal where the cursor is (CPR, `ESC[6n`) and draws the bottom
toolbar only once it knows; `Terminal.expect` answers every request the way xterm does, so
the child sees a real, well-behaved terminal. `screen_text` is everything shown so far with
the escape sequences removed, for assertions on what the user saw.
"""

from __future__ import annotations

import io
import re

import pexpect
from conftest import TODOCHAT, subprocess_env

CPR_REQUEST = re.compile(re.escape("\x1b[6n"))
ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
# prompt-toolkit turns bracketed paste on each time it starts reading a line: a prompt is ready.
# (The "›" itself is redrawn when a line is accepted, so it cannot mark a new prompt.)
PROMPT = re.compile(re.escape("\x1b[?2004h"))
ALT_ENTER = "\x1b\r"
CTRL_C = "\x03"
CTRL_D = "\x04"
TIMEOUT = 15


def plain(text: str) -> str:
    """Terminal output without escape sequences or carriage returns."""
    return ANSI.sub("", text).replace("\r", "")


class Terminal:
    """One `todochat` process in a pseudo-terminal."""

    def __init__(self, env: dict[str, str], *args: str, cwd: str | None = None, **extra: str):
        child_env = subprocess_env(env, TERM="xterm", COLUMNS="120", LINES="40", **extra)
        self.transcript = io.StringIO()
        self.child = pexpect.spawn(
            TODOCHAT[0],
            [*TODOCHAT[1:], *args],
            env=child_env,
            dimensions=(40, 120),
            encoding="utf-8",
            timeout=TIMEOUT,
            cwd=cwd,
        )
        self.child.logfile_read = self.transcript

    def expect(self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT) -> str:
        """Wait for `pattern` (a regex) and return the text shown before it, made plain."""
        shown = []
        while True:
            index = self.child.expect([CPR_REQUEST, pattern], timeout=timeout)
            shown.append(self.child.before)
            if index == 1:
                return plain("".join(shown))
            self.child.send("\x1b[20;1R")  # the cursor is on row 20 of 40, column 1

    def prompt(self) -> str:
        """Wait for the input prompt; return the plain text shown before it."""
        return self.expect(PROMPT)

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def line(self, text: str) -> str:
        """Type `text`, press Enter, and return what was shown until the next prompt."""
        self.child.send(text + "\r")
        return self.prompt()

    def exit_status(self, keys: str = CTRL_D) -> int:
        """Send `keys` (default Ctrl-D) and wait for the process to end."""
        self.child.send(keys)
        self.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus

    def screen_text(self) -> str:
        return plain(self.transcript.getvalue())

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


CSI = re.compile(r"\x1b\[([0-9;?<>=]*)([ -/]*[@-~])|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


def screen_lines(raw: str, width: int = 120) -> list[str]:
    """What a terminal `width` columns wide shows after `raw`, on an endless sheet (no
    scrolling): enough of xterm (cursor moves, erases, a line wrapped by the next character
    after the last column) to see text left behind on screen, which `plain` cannot."""
    sheet: dict[int, list[str]] = {}
    row = col = 0
    pos = 0
    while pos < len(raw):
        match = CSI.match(raw, pos)
        if match:
            row, col = _csi(sheet, row, col, match.group(1) or "", match.group(2) or "")
            pos = match.end()
            continue
        char, pos = raw[pos], pos + 1
        if char == "\r":
            col = 0
        elif char == "\n":
            row += 1
        elif char == "\b":
            col = max(col - 1, 0)
        elif char >= " ":
            if col >= width:  # the pending wrap: this character starts the next line
                row, col = row + 1, 0
            line = sheet.setdefault(row, [])
            line.extend(" " * (col + 1 - len(line)))
            line[col], col = char, col + 1
    last = max(sheet, default=-1)
    return ["".join(sheet.get(r, [])).rstrip() for r in range(last + 1)]


def _csi(sheet: dict[int, list[str]], row: int, col: int, args: str, final: str):
    count = int(args) if args.isdigit() else 1
    if final == "A":
        row = max(row - count, 0)
    elif final == "B":
        row += count
    elif final == "C":
        col += count
    elif final == "D":
        col = max(col - count, 0)
    elif final == "G":
        col = count - 1
    elif final == "K":
        line = sheet.get(row, [])
        sheet[row] = [] if args == "2" else line[:col] if args in ("", "0") else line
    elif final == "J" and args in ("", "0"):
        sheet[row] = sheet.get(row, [])[:col]
        for below in [r for r in sheet if r > row]:
            del sheet[below]
    return row, col
