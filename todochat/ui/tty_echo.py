"""Keys typed while a reply streams are not echoed over it.

The terminal echoes what is typed during a reply (`^C` for Ctrl-C) at the cursor, which sits
at the end of the live view's last line, padded to the full width: the echo wraps onto a new
line, the live view loses count of its lines, and its erase leaves one copy of the reply
behind, so the partial reply showed twice. Typed keys are still read (they wait for the next
prompt); only their echo is held back.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def echo_off() -> Iterator[None]:
    """Hold back the echo of stdin's terminal until the block ends (nothing if no terminal)."""
    try:
        import termios
    except ImportError:  # Windows
        yield
        return
    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (termios.error, OSError, ValueError, AttributeError):  # stdin is no terminal
        yield
        return
    quiet = list(saved)
    quiet[3] &= ~(termios.ECHO | termios.ECHOCTL)
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)
