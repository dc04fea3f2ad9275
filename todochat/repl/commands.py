"""Slash commands: a registry whose help texts build `/help` (after pgcli's special commands)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from todochat.errors import InvalidInputError, NotFoundError
from todochat.identity import short_id
from todochat.ui.render import (
    TASK_TITLES,
    ago,
    conversations_table,
    history_lines,
    search_table,
    shown,
    stored,
    tasks_table,
)

if TYPE_CHECKING:
    from todochat.repl.repl import ChatRepl

Handler = Callable[["ChatRepl", str], None]


@dataclass(frozen=True)
class SlashCommand:
    name: str
    help: str
    handler: Handler
    usage: str = ""  # `ID`: an argument it needs; `[FILE]`: one it may take; "": none

    @property
    def needs_argument(self) -> bool:
        return bool(self.usage) and not self.usage.startswith("[")


REGISTRY: dict[str, SlashCommand] = {}


def slash(name: str, help: str, usage: str = "") -> Callable[[Handler], Handler]:
    """Register a handler as `/name`."""

    def register(handler: Handler) -> Handler:
        REGISTRY[name] = SlashCommand(name, help, handler, usage)
        return handler

    return register


def parse(line: str) -> tuple[SlashCommand | None, str]:
    """The command a line names (None for an unknown one) and the rest of the line."""
    word, _, rest = line.strip().partition(" ")
    return REGISTRY.get(word.lower()), rest.strip()


def help_text() -> str:
    width = max(len(c.name + (" " + c.usage if c.usage else "")) for c in REGISTRY.values())
    lines = [
        f"  {(c.name + (' ' + c.usage if c.usage else '')).ljust(width)}  {c.help}"
        for c in REGISTRY.values()
    ]
    keys = "Enter sends, Alt-Enter adds a line, Ctrl-C cancels a reply or clears the line, Ctrl-D quits."
    return "Commands:\n" + "\n".join(lines) + "\n\n" + keys


@slash("/help", "Show this help")
def _help(repl: ChatRepl, arg: str) -> None:
    repl.console.print(help_text(), markup=False)


@slash("/new", "Start a new conversation")
def _new(repl: ChatRepl, arg: str) -> None:
    repl.service.new_conversation()
    repl.console.print("Started a new conversation.", style="dim")


TASK_PAGE = 100  # tasks `/tasks` shows at a time, as `todochat tasks` does


@slash("/tasks", "Show your tasks (open by default), 100 at a time", "[all|done] [LIST] [PAGE]")
def _tasks(repl: ChatRepl, arg: str) -> None:

    status, page, list_name = _tasks_arguments(arg)
    user = repl.service.user
    tz = user.app.timezone
    found = user.tasks.page(status, page=page, size=TASK_PAGE, list_name=list_name)
    what = TASK_TITLES[status].lower()
    if not found.tasks and found.total:
        pages = -(-found.total // TASK_PAGE)
        repl.console.print(
            f"Page {page} is past the last: {found.total:,} {what}, {pages} page(s).", style="dim"
        )
        return
    heading = TASK_TITLES[status] + (f" on the {list_name} list" if list_name else "")
    repl.console.print(tasks_table(found.tasks, heading, tz))
    if found.first == 1 and found.last == found.total:
        return
    shown = f"Showing {found.first:,}-{found.last:,} of {found.total:,} {what}"
    if found.last < found.total:
        named = list_name or ""
        command = " ".join(w for w in ("/tasks", "" if status == "open" else status, named) if w)
        left = min(found.total - found.last, TASK_PAGE)
        shown += f"; {command} {page + 1} shows the next {left}"
    repl.console.print(shown + ".", style="dim")


def _tasks_arguments(arg: str) -> tuple[str, int, str | None]:
    """`/tasks`' words: a status (all, done), a list's name and a page number, all optional,
    in that order (`/tasks done shopping 2`)."""
    words = arg.lower().split()
    status = {"all": "all", "done": "done"}.get(words[0] if words else "")
    if status:
        words = words[1:]
    page = int(words.pop()) if words and words[-1].isdigit() else 1
    if any(w.isdigit() for w in words):
        raise InvalidInputError(f"/tasks takes all or done, a list and a page number, not {arg!r}")
    return status or "open", page, " ".join(words) or None


@slash("/undo", "Undo this conversation's last change to your tasks (again to go further back)")
def _undo(repl: ChatRepl, arg: str) -> None:

    if repl.service.conversation_id is None:
        repl.console.print("Nothing to undo yet.", style="dim")
        return
    repl.console.print(shown(repl.run(repl.service.undo())))


@slash("/history", "Show this conversation's messages from the log")
def _history(repl: ChatRepl, arg: str) -> None:

    service = repl.service
    lines = []
    if service.conversation_id is not None:
        page = service.user.log.page(service.conversation_id)
        changes = page.change_lines()
        lines = history_lines(page.messages, changes=changes, tz=service.user.app.timezone)
    if not lines:
        repl.console.print("No messages in this conversation yet.", style="dim")
    for line in lines:
        repl.console.print(line)


@slash("/stats", "Show this conversation's agent-memory size and last activity")
def _stats(repl: ChatRepl, arg: str) -> None:

    stats = repl.run(repl.service.memory_stats())
    limit = repl.service.settings.agent_session_max_messages
    repl.console.print(
        f"Agent memory: {stats['message_count']} of {limit} items, "
        f"last activity {ago(stats['last_activity'])}."
    )


@slash("/clear", "Clear this conversation's agent memory (asks first; the log is kept)")
def _clear(repl: ChatRepl, arg: str) -> None:
    if repl.service.conversation_id is None:
        repl.console.print("Nothing to clear yet.", style="dim")
        return
    if not repl.confirm("Clear this conversation's agent memory? The log is kept. [y/N] "):
        repl.console.print("Kept.", style="dim")
        return
    repl.run(repl.service.clear_memory())
    repl.console.print("Agent memory cleared: the assistant starts afresh in this conversation.")


@slash("/conversations", "List your conversations, newest first")
def _conversations(repl: ChatRepl, arg: str) -> None:

    rows = repl.service.user.log.conversations()
    if not rows:
        repl.console.print("No conversations yet.", style="dim")
        return
    repl.console.print(conversations_table(rows))


@slash("/switch", "Continue another conversation (see /conversations)", "ID")
def _switch(repl: ChatRepl, arg: str) -> None:

    found = repl.service.resume(arg)
    repl.console.print(
        f"Switched to conversation {short_id(found.id)} ({stored(found.title) or 'untitled'}).",
        markup=False,
    )


@slash("/rename", "Give this conversation a title", "TITLE")
def _rename(repl: ChatRepl, arg: str) -> None:

    title = repl.service.rename(arg)
    repl.console.print(f"Renamed {repl.service.short_id}: {stored(title)}", markup=False)


@slash("/search", 'Search your messages (words, "a phrase", grocer*)', "QUERY")
def _search(repl: ChatRepl, arg: str) -> None:

    hits = repl.service.user.log.search(arg)
    if not hits:
        repl.console.print("No messages match.", style="dim")
        return
    repl.console.print(search_table(hits, repl.service.user.app.timezone))


@slash("/export", "Save this conversation to a file (.md: Markdown, else JSON)", "[FILE]")
def _export(repl: ChatRepl, arg: str) -> None:
    from todochat.ui.files import write_atomically
    from todochat.ui.markdown_export import export_markdown
    from todochat.ui.serialize import to_json

    service = repl.service
    if service.conversation_id is None:
        raise NotFoundError("no conversation yet: send a message first")
    document = service.user.log.export([service.conversation_id.hex])
    path = arg or f"todochat-{repl.service.short_id}.json"
    markdown = path.lower().endswith((".md", ".markdown"))
    text = export_markdown(document) if markdown else to_json(document) + "\n"
    replace = Path(path).exists()
    if replace and not repl.confirm(f"{path} exists. Replace it? [y/N] "):
        repl.console.print("Kept.", style="dim")
        return
    write_atomically(path, text, replace=replace)
    repl.console.print(f"Exported conversation {repl.service.short_id} to {path}.", markup=False)


@slash("/exit", "Quit (Ctrl-D works too)")
def _exit(repl: ChatRepl, arg: str) -> None:
    repl.stop()
