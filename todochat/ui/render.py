"""Rich rendering shared by the REPL and the commands: tasks, history, stats, streamed replies."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from todochat.tasks import dates
from todochat.ui.printable import MARK_END, MARK_START, printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

# Titles of `tasks_table` for each status filter (`todochat tasks`, `/tasks`), and what an
# empty list says.
TASK_TITLES = {"open": "Open tasks", "done": "Completed tasks", "all": "All tasks"}


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


def incomplete_note(why: str) -> Text:
    """What is said under a reply the model's stream cut short (the REPL and `chat -m`)."""
    return error_line(f"the reply is incomplete: {why}; what arrived is logged, marked so")


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


def tasks_plain(tasks: Sequence[Any], tz: tzinfo | None = None) -> list[str]:
    """One line a task for scripts: number, status (open, done, overdue), title, due,
    priority, notes on one line."""

    tz = tz or dates.local_timezone()
    lines = []
    for t in tasks:
        overdue = not t.done and dates.is_overdue(t.due_on, t.due_at, tz)
        status = "done" if t.done else "overdue" if overdue else "open"
        due = dates.due_label(t.due_on, t.due_at, tz)
        notes = stored(t.notes).replace("\n", "; ")
        lines.append(f"{t.number}\t{status}\t{stored(t.title)}\t{due}\t{t.priority or ''}\t{notes}")
    return lines


def _status(task: Any, overdue: bool) -> Text:
    if task.done:
        return Text("done", style="green")
    return Text("overdue", style="bold red") if overdue else Text("open", style="yellow")


def history_lines(
    messages: Sequence[Any],
    markdown: bool = True,
    changes: Mapping[int, Sequence[str]] | None = None,
    tz: tzinfo | None = None,
) -> list[Any]:
    """The log as the user wrote it and as the assistant answered (Markdown, or its source),
    with `  -> added #3 …` under a message for each change its turn made (`changes`); times
    in `tz` (TODOCHAT_TIMEZONE), else the machine's zone."""
    out: list[Any] = []
    for message in messages:
        stamp = local_stamp(message.created_at, tz)
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
        self.closed: OSError | None = None  # why the pipe took no more (`| head` went away)
        self._live: Live | None = None
        self._blocks = None
        self._settled: list[str] = []  # settled blocks not printed yet
        self._printed = False
        self._flushed_at = 0.0

    def __enter__(self) -> StreamedReply:
        if self.console.is_terminal:
            from rich.live import Live

            from todochat.ui.markdown_blocks import MarkdownBlocks
            from todochat.ui.tty_echo import echo_off

            self._echo = echo_off()  # a key's echo would break the live view (tty_echo.py)
            self._echo.__enter__()
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
            self._write(delta)
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
            self._echo.__exit__(None, None, None)
            if self._blocks.tail.strip():
                self._settled.append(self._blocks.tail)
            if self._settled:
                self._flush()
        elif self.received:
            self._write("\n")

    def _write(self, text: str) -> None:
        """Into the pipe, until it fails: the turn goes on and its reply is still logged."""
        if self.closed is not None:
            return
        try:
            self.console.file.write(text)
            self.console.file.flush()
        except OSError as exc:  # BrokenPipeError when the reader has gone; ENOSPC, EIO…
            self.closed = exc


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


# --- listings of the log (conversations, search, history without a terminal) ------------------


def stored(text: str) -> str:
    """Stored or model text on its way to the screen: every listing passes it through here."""
    return printable(text)


def local_stamp(moment: datetime, tz: tzinfo | None = None) -> str:
    """`2026-11-22 12:49` in `tz` (the user's TODOCHAT_TIMEZONE), else the machine's zone;
    in UTC, so marked, when the zone cannot hold it."""

    return dates.local_stamp(moment, tz)


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


def memories_plain(entries: Sequence[Mapping[str, Any]], all_users: bool) -> list[str]:
    """`sessions list` for scripts, as `conversations` prints: one line a memory, [user,]
    conversation, items, last activity (UTC, or `unknown`), title; `-` for no conversation."""
    lines = []
    for e in entries:
        when = _utc(e["last_activity"]) if e["last_activity"] else "unknown"
        line = f"{e['conversation'] or '-'}\t{e['items']}\t{when}\t{stored(e['title'])}"
        lines.append(f"{stored(e.get('user') or '-')}\t{line}" if all_users else line)
    return lines


def tokens_table(rows: Sequence[Any]) -> Table:
    """`todochat tokens list`: what each token is, never the token."""
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "user", "name", "created", "revoked"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for row in rows:
        table.add_row(*_token_cells(row))
    return table


def tokens_plain(rows: Sequence[Any]) -> list[str]:
    """One line a token for scripts: id, user, name, created, revoked (UTC or -)."""
    return ["\t".join(_token_cells(row)) for row in rows]


def _token_cells(row: Any) -> tuple[str, ...]:
    name = " ".join(filter(None, [stored(row.label), "(operator)" if row.operator else ""]))
    revoked = _utc(row.revoked_at) if row.revoked_at else "-"
    return str(row.id), stored(row.user), name, _utc(row.created_at), revoked


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


ROLE_NAMES = {"user": "you", "assistant": "todochat"}


def search_table(hits: Sequence[Any], tz: tzinfo | None = None) -> Table:
    """Hits on a terminal: the match in each snippet highlighted, times in `tz`."""
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "when", "who", "match"):
        table.add_column(column, no_wrap=column != "match")
    for hit in hits:
        snippet = marked_snippet(hit.snippet, styled=True, source=hit.role == "user")
        who = ROLE_NAMES.get(hit.role, hit.role)
        table.add_row(hit.short_id, local_stamp(hit.created_at, tz), who, snippet)
    return table


def search_plain(hits: Sequence[Any]) -> list[str]:
    """One line a hit for scripts: id, time (UTC), role, snippet with the match in [ ]."""
    return [
        f"{h.short_id}\t{_utc(h.created_at)}\t{h.role}\t"
        f"{marked_snippet(h.snippet, source=h.role == 'user')}"
        for h in hits
    ]


def marked_snippet(snippet: str, styled: bool = False, source: bool = False) -> Any:
    """A search snippet on one line, the match in [brackets] or (styled) highlighted;
    Markdown markers removed unless `source` (a user's own words are shown as typed)."""

    text = stored(snippet) if source else _cut_markers(plain_markdown(stored(snippet)))
    line = " ".join(text.split())
    if not styled:
        return line.replace(MARK_START, "[").replace(MARK_END, "]")
    text = Text()
    for i, part in enumerate(line.replace(MARK_END, MARK_START).split(MARK_START)):
        text.append(part, style="bold reverse" if i % 2 else "")
    return text


# `**`, `*` or a backtick against a word on one side only: half of a pair the snippet cut
# off (`…at home** and`), which Markdown leaves as text. `a * b` and `2*3` stay.
HALF_PAIR = re.compile(r"(?<=\S)[*`]+(?=\s|$)|(?:^|(?<=\s))[*`]+(?=\S)")


def _cut_markers(text: str) -> str:
    """A model's snippet without the markers whose partner lies outside it."""
    return HALF_PAIR.sub("", text) if "*" in text or "`" in text else text


def history_plain(
    messages: Sequence[Any],
    changes: Mapping[int, Sequence[str]] | None = None,
    tz: tzinfo | None = None,
) -> list[str]:
    """The log without a terminal: each message as plain text, Markdown markers removed, and
    under it `  -> …` for each change its turn made (`changes`); times in `tz`."""
    out = []
    for message in messages:
        who = ROLE_NAMES.get(message.role, message.role)
        body = stored(message.content)
        text = plain_markdown(body) if message.role == "assistant" else body
        out.append(f"{local_stamp(message.created_at, tz)} {who}: {text}")
        out += [f"  -> {stored(line)}" for line in (changes or {}).get(message.id, ())]
    return out


# One line of words and everyday punctuation, starting with a letter: Markdown would read it
# as the same text, so it needs no parser (markdown-it takes ~0.2 s to import).
PLAIN_LINE = re.compile(r"[A-Za-z][A-Za-z0-9 ,;:'\"?()/%$@.!-]*(?<! )")


def plain_markdown(source: str) -> str:
    """Markdown as the plain text it stands for: no `**`, `#`, backticks or link syntax."""
    if PLAIN_LINE.fullmatch(source):
        return source
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


def warm_up() -> None:
    """Import and run once what drawing a reply needs (markdown-it is slow to import), so
    the REPL's first reply does not pay for it."""
    from rich.console import Console
    from rich.live import Live  # noqa: F401

    from todochat.ui.markdown_blocks import MarkdownBlocks  # noqa: F401

    Console(file=io.StringIO(), width=80).print(markdown_of("**warm** `up`"))
