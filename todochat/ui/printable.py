"""Text safe to print: stored or model text can never drive a terminal.

Core, not a view (no Rich): the renderers, the Markdown export and anything else that writes
stored text where a terminal may show it use this one function.
"""

from __future__ import annotations

# Every C0 control but tab and newline, DEL, and every C1 control, as a visible character:
# ESC shows as "␛", so `ESC [2J`, a window title or an OSC 8 link prints as inert text. A
# lone surrogate (a model can send `"\ud800"`) becomes U+FFFD: no terminal or pipe can take it.
_VISIBLE = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)}
_VISIBLE |= {0x7F: 0x2421} | {c: 0xFFFD for c in range(0x80, 0xA0)}
_VISIBLE |= {c: 0xFFFD for c in range(0xD800, 0xE000)}


def printable(text: str) -> str:
    """Stored or model text made safe to print: it can never drive the terminal.

    Everything we print from the log, tasks, titles, replies or errors goes through here
    (via the renderers' helpers), on a terminal and in a pipe alike, and so does a
    Markdown export written to a file.
    """
    return text.replace("\r\n", "\n").translate(_VISIBLE)


# Where a match starts and ends in a search snippet: private-use characters, never typed by
# anyone, replaced by the renderer (a style on a terminal, brackets elsewhere).
MARK_START, MARK_END = "\ue000", "\ue001"
