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


def tasks_plain(tasks: Sequence[Any]) -> list[str]:
    """One line a task for scripts: number, open or done, title, notes on one line."""
    return [
        f"{t.number}\t{'done' if t.done else 'open'}\t{stored(t.title)}"
        f"\t{stored(t.notes).replace(chr(10), '; ')}"
        for t in tasks
    ]


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


# --- listings of the log (conversations, search, history without a terminal) ------------------


def stored(text: str) -> str:
    """Stored or model text on its way to the screen: every listing passes it through here."""
    return text


def local_stamp(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def conversations_table(rows: Sequence[Any]) -> Table:
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "title", "messages", "last activity"):
        table.add_column(column, justify="right" if column == "messages" else "left")
    for row in rows:
        title = Text(stored(row.title)) if row.title else Text("(untitled)", style="dim")
        table.add_row(row.short_id, title, str(row.messages), ago(row.updated_at))
    return table


def conversations_plain(rows: Sequence[Any]) -> list[str]:
    """One line a conversation for scripts: id, messages, last activity (UTC), title."""
    return [f"{r.short_id}\t{r.messages}\t{_utc(r.updated_at)}\t{stored(r.title)}" for r in rows]


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


ROLE_NAMES = {"user": "you", "assistant": "todochat"}


def search_table(hits: Sequence[Any]) -> Table:
    """Hits on a terminal: the match in each snippet highlighted."""
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "when", "who", "match"):
        table.add_column(column, no_wrap=column != "match")
    for hit in hits:
        snippet = marked_snippet(hit.snippet, styled=True)
        who = ROLE_NAMES.get(hit.role, hit.role)
        table.add_row(hit.short_id, local_stamp(hit.created_at), who, snippet)
    return table


def search_plain(hits: Sequence[Any]) -> list[str]:
    """One line a hit for scripts: id, time (UTC), role, snippet with the match in [ ]."""
    return [
        f"{h.short_id}\t{_utc(h.created_at)}\t{h.role}\t{marked_snippet(h.snippet)}" for h in hits
    ]


def marked_snippet(snippet: str, styled: bool = False, source: bool = False) -> Any:
    """A search snippet on one line, the match in [brackets] or (styled) highlighted;
    Markdown markers removed unless `source`."""
    from todochat.db.search import MARK_END, MARK_START

    text = stored(snippet) if source else plain_markdown(stored(snippet))
    line = " ".join(text.split())
    if not styled:
        return line.replace(MARK_START, "[").replace(MARK_END, "]")
    text = Text()
    for i, part in enumerate(line.replace(MARK_END, MARK_START).split(MARK_START)):
        text.append(part, style="bold reverse" if i % 2 else "")
    return text


def history_plain(messages: Sequence[Any]) -> list[str]:
    """The log without a terminal: each message as plain text, Markdown markers removed."""
    out = []
    for message in messages:
        who = ROLE_NAMES.get(message.role, message.role)
        body = stored(message.content)
        text = plain_markdown(body) if message.role == "assistant" else body
        out.append(f"{local_stamp(message.created_at)} {who}: {text}")
    return out


def plain_markdown(source: str) -> str:
    """Markdown as the plain text it stands for: no `**`, `#`, backticks or link syntax."""
    from markdown_it import MarkdownIt

    writer = _PlainWriter()
    for token in MarkdownIt("commonmark").parse(source):
        writer.block(token)
    return "\n".join(writer.lines).strip("\n")


class _PlainWriter:
    """Lines of plain text from markdown-it block tokens (lists keep a bullet or number)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [ordered, next number]
        self.marker = ""

    def block(self, token: Any) -> None:
        self._content(token)
        ends = ("paragraph_close", "heading_close", "fence", "code_block", "html_block")
        closes_list = token.type in ("bullet_list_close", "ordered_list_close")
        if (token.type in ends and not token.hidden or closes_list) and not self.lists:
            self.lines.append("")

    def _content(self, token: Any) -> None:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            self.lists.append([kind == "ordered_list_open", int(token.attrGet("start") or 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self.lists.pop()
        elif kind == "list_item_open":
            ordered, number = self.lists[-1]
            self.marker = f"{number}. " if ordered else "• "
            self.lists[-1][1] += 1
        elif kind == "inline":
            self.emit(_inline_plain(token.children or []))
        elif kind in ("fence", "code_block", "html_block"):
            self.emit(token.content.rstrip("\n"))

    def emit(self, text: str) -> None:
        indent = "  " * max(len(self.lists) - 1, 0)
        hang = indent + " " * len(self.marker)
        for i, line in enumerate(text.split("\n")):
            self.lines.append((indent + self.marker if i == 0 else hang) + line)
        self.marker = ""


def _inline_plain(children: Sequence[Any]) -> str:
    parts, links = [], []
    for child in children:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)
        elif child.type == "link_open":
            links.append((len(parts), child.attrGet("href") or ""))
        elif child.type == "link_close" and links:
            start, href = links.pop()
            if href and href != "".join(parts[start:]):
                parts.append(f" ({href})")
    return "".join(parts)
