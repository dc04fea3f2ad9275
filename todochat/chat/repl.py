"""The interactive REPL: prompt-toolkit input, rich output, streamed replies, slash commands."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings
from rich.console import Console

from todochat.chat import commands
from todochat.chat.render import StreamedReply
from todochat.chat.service import CANCELLED_MARK, ChatService
from todochat.errors import TodochatError

T = TypeVar("T")


class SlashCompleter(Completer):
    """Completes `/commands` at the start of the line, with their help as the meta text."""

    def get_completions(self, document, complete_event):
        text = document.text_before_cursor
        if not text.startswith("/") or " " in text:
            return
        for command in commands.REGISTRY.values():
            if command.name.startswith(text.lower()):
                yield Completion(command.name, start_position=-len(text), display_meta=command.help)


def key_bindings() -> KeyBindings:
    """Enter sends; Alt-Enter (Esc then Enter) inserts a newline."""
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _newline(event) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


class ChatRepl:
    """Read a line, run a slash command or a turn, render, repeat until Ctrl-D or /exit."""

    def __init__(self, service: ChatService, console: Console, model_label: str):
        self.service = service
        self.console = console
        self.model_label = model_label
        self._running = True
        self._runner = asyncio.Runner()
        history = Path(service.settings.history_file)
        history.parent.mkdir(parents=True, exist_ok=True)
        self.prompt = PromptSession(
            history=FileHistory(str(history)),
            auto_suggest=AutoSuggestFromHistory(),
            completer=SlashCompleter(),
            complete_while_typing=True,
            key_bindings=key_bindings(),
            bottom_toolbar=self.toolbar,
            enable_history_search=False,
        )

    def toolbar(self) -> str:
        title = self.service.title() if self.service.conversation_id else ""
        where = f"{self.service.short_id} {title[:30]}".strip()
        return (
            f" {self.service.user_name} · conversation {where} · model {self.model_label} · /help"
        )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the REPL's event loop (Ctrl-C cancels it)."""
        return self._runner.run(coroutine)

    def stop(self) -> None:
        self._running = False

    def confirm(self, question: str) -> bool:
        try:
            answer = PromptSession().prompt(question)
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")

    def loop(self) -> None:
        self.console.print(
            f"todochat · {self.service.user_name} · {self.model_label}. "
            "Type a message, /help for commands, Ctrl-D to quit.",
            style="dim",
        )
        try:
            while self._running:
                line = self._read()
                if line is None:
                    break
                if line.strip():
                    self.handle(line)
        finally:
            self.service.close()
            self._runner.close()

    def _read(self) -> str | None:
        try:
            return self.prompt.prompt("› ")
        except KeyboardInterrupt:
            return ""  # Ctrl-C at the prompt clears the line
        except EOFError:
            return None

    def handle(self, line: str) -> None:
        if line.startswith("/"):
            self.slash(line)
        else:
            self.turn(line)

    def slash(self, line: str) -> None:
        command, arg = commands.parse(line)
        if command is None:
            self.console.print(
                f"Unknown command {line.split()[0]!r}; /help lists them.", style="red"
            )
            return
        try:
            command.handler(self, arg)
        except TodochatError as exc:
            self.console.print(f"Error: {exc}", style="red")
        except KeyboardInterrupt:
            self.console.print("Cancelled.", style="dim")

    def turn(self, text: str) -> None:
        reply = StreamedReply(self.console)
        try:
            with reply:
                result = self.run(self.service.turn(text, reply.add))
                reply.finish(result.reply)
        except KeyboardInterrupt:
            self.console.print(CANCELLED_MARK, style="yellow")
        except TodochatError as exc:
            self.console.print(f"Error: {exc}", style="red")
            self.console.print("Your message is saved; try again or /help.", style="dim")
