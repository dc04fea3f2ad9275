"""Rich rendering shared by the REPL and the commands: tasks, history, stats, streamed replies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

# Titles of `tasks_table` for each status filter (`todochat tasks`, `/tasks`).
TASK_TITLES = {"open": "Open tasks", "done": "Completed tasks", "all": "All tasks"}


def error_line(message: str) -> Text:
    """`Error: message`, with only the label styled (the REPL and every command)."""
    return Text.assemble(("Error:", "red"), " ", message)


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """A short relative time: `just now`, `5m ago`, `3h ago`, `2d ago`."""
    if moment is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def tasks_table(tasks: Sequence[Any], title: str) -> Table | Text:
    if not tasks:
        return Text(f"No {title.lower()}.", style="dim")
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("#", justify="right", style="bold")
    table.add_column("Title")
    table.add_column("Notes", style="dim")
    table.add_column("Status")
    for task in tasks:
        status = Text("done", style="green") if task.done else Text("open", style="yellow")
        # Text cells: a title is the user's words, never Rich markup.
        notes = Text(task.notes.replace("\n", "; "))
        table.add_row(Text(str(task.number)), Text(task.title), notes, status)
    return table


def history_lines(messages: Sequence[Any], markdown: bool = True) -> list[Any]:
    """The log as the user wrote it and as the assistant answered (Markdown, or its source)."""
    from rich.markdown import Markdown  # markdown-it is slow to import; admin commands skip it

    out: list[Any] = []
    for message in messages:
        stamp = message.created_at.astimezone().strftime("%Y-%m-%d %H:%M")  # local time
        if message.role == "user":
            out.append(Text.assemble((f"{stamp} ", "dim"), ("you: ", "bold cyan"), message.content))
        else:
            out.append(Text.assemble((f"{stamp} ", "dim"), ("todochat:", "bold magenta")))
            out.append(Markdown(message.content) if markdown else Text(message.content))
    return out


class StreamedReply:
    """Renders a reply as Markdown while it streams (a terminal) or as plain text (a pipe).

    On a terminal a transient `Live` shows "thinking…" until the first words, then the
    Markdown so far; on exit it is replaced by the whole reply printed once, so a reply
    taller than the screen is shown in full and a cancelled one leaves only what arrived.
    """

    PLACEHOLDER = Text("thinking…", style="dim italic")

    def __init__(self, console: Console):
        self.console = console
        self.text = ""
        self._live: Live | None = None

    def __enter__(self) -> StreamedReply:
        if self.console.is_terminal:
            from rich.live import Live

            self._live = Live(
                self.PLACEHOLDER, console=self.console, refresh_per_second=12, transient=True
            )
            self._live.__enter__()
        return self

    def add(self, delta: str) -> None:
        self.text += delta
        if self._live is not None:
            from rich.markdown import Markdown

            self._live.update(Markdown(self.text))
        else:
            self.console.file.write(delta)
            self.console.file.flush()

    def finish(self, final: str | None = None) -> None:
        """Show the final text (the model may have returned it without streaming)."""
        if final and not self.text:
            self.add(final)

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            if self.text.strip():
                from rich.markdown import Markdown

                self.console.print(Markdown(self.text))
        elif self.text:
            self.console.file.write("\n")
            self.console.file.flush()
