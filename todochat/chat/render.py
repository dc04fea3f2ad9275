"""Rich rendering shared by the REPL and the commands: tasks, history, stats, streamed replies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
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


def tasks_table(tasks: Sequence[Any], title: str, tz: tzinfo | None = None) -> Table | Text:
    """Number, title, due date, priority, notes, status; an overdue task says so in red."""
    from todochat import dates

    if not tasks:
        return Text(f"No {title.lower()}.", style="dim")
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
        notes = Text(task.notes.replace("\n", "; "))
        priority = Text(task.priority or "", style="bold" if task.priority == "high" else "")
        table.add_row(
            Text(str(task.number)), Text(task.title), due, priority, notes, _status(task, overdue)
        )
    return table


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
    from rich.markdown import Markdown  # markdown-it is slow to import; admin commands skip it

    out: list[Any] = []
    for message in messages:
        stamp = message.created_at.astimezone().strftime("%Y-%m-%d %H:%M")  # local time
        if message.role == "user":
            out.append(Text.assemble((f"{stamp} ", "dim"), ("you: ", "bold cyan"), message.content))
        else:
            out.append(Text.assemble((f"{stamp} ", "dim"), ("todochat:", "bold magenta")))
            out.append(Markdown(message.content) if markdown else Text(message.content))
        for line in (changes or {}).get(message.id, ()):
            out.append(Text(f"  -> {line}", style="cyan"))
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
