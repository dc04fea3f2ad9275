"""Rich rendering shared by the REPL and the commands: tasks, history, stats, streamed replies."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

# Titles of `tasks_table` for each status filter (`todochat tasks`, `/tasks`), and what an
# empty list says.
TASK_TITLES = {"open": "Open tasks", "done": "Completed tasks", "all": "All tasks"}


# Every C0 control but tab and newline, DEL, and every C1 control, as a visible character:
# ESC shows as "␛", so `ESC [2J`, a window title or an OSC 8 link prints as inert text.
_VISIBLE = {c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)}
_VISIBLE |= {0x7F: 0x2421} | {c: 0xFFFD for c in range(0x80, 0xA0)}


def printable(text: str) -> str:
    """Stored or model text made safe to print: it can never drive the terminal.

    Everything we print from the log, tasks, titles, replies or errors goes through here
    (via the helpers below), on a terminal and in a pipe alike.
    """
    return text.replace("\r\n", "\n").translate(_VISIBLE)


def shown(text: str, style: str = "") -> Text:
    """Stored text as a Rich `Text`: made printable, never read as markup or emoji codes."""
    return Text(printable(text), style=style)


def markdown_of(text: str):
    """Model text as Markdown, made printable; a link shows its URL (`docs (https://…)`),
    never a hidden OSC 8 hyperlink whose target the reader cannot see."""
    from rich.markdown import Markdown  # markdown-it is slow to import; admin commands skip it

    return Markdown(printable(text), hyperlinks=False)


def error_line(message: str) -> Text:
    """`Error: message`, with only the label styled (the REPL and every command)."""
    return Text.assemble(("Error:", "red"), " ", printable(message))


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """A short relative time: `just now`, `5m ago`, `3h ago`, `2d ago`."""
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def tasks_table(tasks: Sequence[Any], title: str, tz: tzinfo | None = None) -> Table | Text:
    """Number, title, due date, priority, notes, status; an overdue task says so in red."""
    from todochat import dates

    if not tasks:
        return Text(_none(title), style="dim")
    tz = tz or dates.local_timezone()
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("#", justify="right", style="bold")
    for column in ("Title", "Due", "Priority", "Notes", "Status"):
        table.add_column(column, style="dim" if column == "Notes" else None)
    for task in tasks:
        overdue = not task.done and dates.is_overdue(task.due_on, task.due_at, tz)
        due = Text(
            dates.due_label(task.due_on, task.due_at, tz), style="bold red" if overdue else ""
        )
        # Text cells: a title is the user's words, never Rich markup.
        notes = shown(task.notes.replace("\n", "; "))
        priority = Text(task.priority or "", style="bold" if task.priority == "high" else "")
        table.add_row(
            Text(str(task.number)), shown(task.title), due, priority, notes, _status(task, overdue)
        )
    return table


def _none(title: str) -> str:
    """ "No open tasks due today.", "No tasks." for all of them (never "No all tasks.")."""
    rest = title.removeprefix("All tasks")
    return f"No tasks{rest}." if rest != title else f"No {title[:1].lower()}{title[1:]}."


def _status(task: Any, overdue: bool) -> Text:
    if task.done:
        return Text("done", style="green")
    return Text("overdue", style="bold red") if overdue else Text("open", style="yellow")


def history_lines(
    messages: Sequence[Any],
    markdown: bool = True,
    changes: Mapping[int, Sequence[str]] | None = None,
) -> list[Any]:
    """The log as the user wrote it and as the assistant answered (Markdown, or its source),
    with `  -> added #3 …` under a message for each change its turn made (`changes`)."""
    out: list[Any] = []
    for message in messages:
        stamp = message.created_at.astimezone().strftime("%Y-%m-%d %H:%M")  # local time
        if message.role == "user":
            said = printable(message.content)
            out.append(Text.assemble((f"{stamp} ", "dim"), ("you: ", "bold cyan"), said))
        else:
            out.append(Text.assemble((f"{stamp} ", "dim"), ("todochat:", "bold magenta")))
            said = printable(message.content)
            out.append(markdown_of(said) if markdown else Text(said))
        for line in (changes or {}).get(message.id, ()):
            out.append(Text(f"  -> {printable(line)}", style="cyan"))
    return out


class StreamedReply:
    """Renders a reply as Markdown while it streams (a terminal) or as plain text (a pipe).

    On a terminal a transient `Live` shows "thinking…" until the first words, then the open
    tail of the Markdown; each block that settles is printed above it once, and on exit the
    tail is printed once. So a reply taller than the screen is shown in full, a cancelled one
    leaves only what arrived, and the work stays linear in the reply's length.
    """

    PLACEHOLDER = Text("thinking…", style="dim italic")
    FLUSH_SECONDS = 1 / 12  # settled blocks are printed together, at most this often

    def __init__(self, console: Console):
        self.console = console
        self.received = False
        self._live: Live | None = None
        self._blocks = None
        self._settled: list[str] = []  # settled blocks not printed yet
        self._printed = False
        self._flushed_at = 0.0

    def __enter__(self) -> StreamedReply:
        if self.console.is_terminal:
            from rich.live import Live

            from todochat.chat.markdown_blocks import MarkdownBlocks

            self._blocks = MarkdownBlocks()
            self._live = Live(
                self.PLACEHOLDER, console=self.console, refresh_per_second=12, transient=True
            )
            self._live.__enter__()
        return self

    def add(self, delta: str) -> None:
        delta = printable(delta)
        if not self.received:
            self.received = True
            if self._live is not None:
                self._live.update(_Tail(self._blocks), refresh=True)
        if self._live is None:
            self.console.file.write(delta)
            self.console.file.flush()
            return
        self._settled += self._blocks.feed(delta)
        if self._settled and time.monotonic() - self._flushed_at >= self.FLUSH_SECONDS:
            self._flush()

    def finish(self, final: str | None = None) -> None:
        """Show the final text (the model may have returned it without streaming)."""
        if final and not self.received:
            self.add(final)

    def _flush(self) -> None:
        """Print the settled blocks once, above the live tail (one parse for the batch)."""
        if self._printed:
            self.console.print()  # the blank line Markdown puts between blocks
        self.console.print(markdown_of("\n\n".join(self._settled)))
        self._settled, self._printed = [], True
        self._flushed_at = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            if self._blocks.tail.strip():
                self._settled.append(self._blocks.tail)
            if self._settled:
                self._flush()
        elif self.received:
            self.console.file.write("\n")
            self.console.file.flush()


class _Tail:
    """The live view of a reply's open tail, parsed only when the screen refreshes.

    A tail longer than `MARKDOWN_LIMIT` (one huge paragraph or code block) is previewed as
    its last lines, plain; it is rendered as Markdown once, when it settles or at the end.
    """

    MARKDOWN_LIMIT = 8192

    def __init__(self, blocks):
        self.blocks = blocks

    def __rich_console__(self, console, options):
        tail = self.blocks.tail
        if len(tail) <= self.MARKDOWN_LIMIT:
            yield markdown_of(tail)
            return
        lines = tail[-self.MARKDOWN_LIMIT :].splitlines()[1:]
        yield Text("\n".join(lines[-(options.max_height or 24) :]))
