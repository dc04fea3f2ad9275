"""The interactive REPL: prompt-toolkit input, rich output, streamed replies, slash commands."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.styles import Style
from rich.console import Console
from rich.text import Text

from todochat.errors import MessageNotSavedError, TodochatError
from todochat.repl import commands
from todochat.repl.input_history import open_history
from todochat.repl.starting import ServiceStart
from todochat.ui.render import StreamedReply, error_line, incomplete_note, printable, shown
from todochat.ui.render import warm_up as warm_up_rendering

if TYPE_CHECKING:  # the service (SQLAlchemy) is imported behind the prompt
    from todochat.config import Settings
    from todochat.turn import ChatService

T = TypeVar("T")

# How long quitting waits for the app database to finish opening, so it can be closed.
SETTLE_SECONDS = 5.0

# What people type to leave or get help, whatever the REPL says: they do what they say.
WORDS_AS_COMMANDS = {"exit": "/exit", "quit": "/exit", "help": "/help"}
PROMPT = FormattedText([("class:prompt", "› ")])
STYLE = Style.from_dict(
    {
        "prompt": "ansicyan bold",
        "continuation": "ansibrightblack",
        "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
        "bottom-toolbar.key": "bg:#303030 #ffffff bold",
        "bottom-toolbar.dim": "bg:#303030 #8a8a8a",
    }
)


class SlashCompleter(Completer):
    """Completes `/commands` at the start of the line (help as meta), then their arguments."""

    def get_completions(self, document, complete_event):
        text = document.text_before_cursor
        if not text.startswith("/") or "\n" in text:
            return
        name, space, arg = text.partition(" ")
        if space:
            yield from self._arguments(name, arg)
            return
        for command in commands.REGISTRY.values():
            if command.name.startswith(text.lower()):
                yield Completion(command.name, start_position=-len(text), display_meta=command.help)

    def _arguments(self, name: str, arg: str):
        """A usage like `[all|done]` lists the words the command takes first."""
        command = commands.REGISTRY.get(name.lower())
        first = command.usage.split(" ")[0] if command else ""
        if "|" not in first or " " in arg:
            return
        for word in first.strip("[]").split("|"):
            if word.startswith(arg.lower()):
                yield Completion(word, start_position=-len(arg))


def key_bindings() -> KeyBindings:
    """Enter sends; Alt-Enter (Esc then Enter) inserts a newline."""
    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _newline(event) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


def _columns() -> int:
    from prompt_toolkit.application import get_app

    return get_app().output.get_size().columns


class _StartFailed(Exception):
    """Ends the prompt when the service could not be opened behind it."""


class ChatRepl:
    """Read a line, run a slash command or a turn, render, repeat until Ctrl-D or /exit.

    The prompt comes first: the service is opened (`ServiceStart`) and the agent stack
    loaded in a thread while the person types. If opening fails, the prompt ends and the
    error is raised from `loop` in the words a synchronous start would have used.
    """

    def __init__(self, start: ServiceStart, settings: Settings, console: Console, model_label: str):
        self.start = start
        self.settings = settings
        self.console = console
        self.model_label = model_label
        self._running = True
        self._pending = ""  # a message that was not saved, offered again at the next prompt
        self._runner = asyncio.Runner()
        self.prompt = PromptSession(
            history=open_history(settings.history_file),
            auto_suggest=AutoSuggestFromHistory(),
            completer=SlashCompleter(),
            complete_while_typing=True,
            key_bindings=key_bindings(),
            bottom_toolbar=self.toolbar,
            prompt_continuation=lambda width, _line, _soft: [("class:continuation", "… ")],
            style=STYLE,
            enable_history_search=False,
        )

    @property
    def service(self) -> ChatService:
        """The chat service, waiting for it to open if it is still opening."""
        return self.start.service()

    def toolbar(self) -> FormattedText:
        """User, conversation and model, like pgcli's status line; key hints when they fit."""
        # What the service last knew: a redraw never waits on (or fails with) the database.
        service = self.start.current
        where, title, user = "new", "", self.settings.user
        if service is not None:
            where, user = service.short_id, service.user_name
            title = service.known_title if service.conversation_id else ""
        if title:
            title = printable(title)
            where += " " + (title if len(title) <= 32 else title[:31] + "…")
        parts = [
            ("class:bottom-toolbar.key", f" {user} "),
            ("class:bottom-toolbar.dim", " conversation "),
            ("class:bottom-toolbar", where),
            ("class:bottom-toolbar.dim", "  model "),
            ("class:bottom-toolbar", self.model_label),
        ]
        hints = "  Alt-Enter: new line · /help · Ctrl-D: quit"
        if sum(len(text) for _, text in parts) + len(hints) < _columns():
            parts.append(("class:bottom-toolbar.dim", hints))
        return FormattedText(parts)

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

    def warm_up(self) -> None:
        """Open the service, then import the agent stack, in the background while the person
        types, so the first reply starts as soon as later ones; a turn waits for both."""

        def then(service: ChatService) -> None:
            service.warm_up()
            warm_up_rendering()

        self.start.on_failure = self._end_prompt
        self.start.begin(then)

    def _end_prompt(self) -> None:
        """From the start thread: opening failed, so the prompt ends (see `_read`)."""
        app = self.prompt.app
        loop = app.loop
        if app.is_running and loop is not None:
            loop.call_soon_threadsafe(self._exit_if_failed)

    def _exit_if_failed(self) -> None:
        app = self.prompt.app
        if self.start.error is not None and app.is_running and not app.is_done:
            app.exit(exception=_StartFailed())

    def _warmed(self, text: str) -> bool:
        """Wait for the background start (rarely still running); Ctrl-C gives the line back."""
        try:
            self.start.ready()
            return True
        except KeyboardInterrupt:
            self.console.print("Cancelled before sending; it is back at the prompt.", style="dim")
            self._pending = text
            return False
        except Exception:
            if self.start.error is None:
                raise
            self._pending = text  # `_read` shows it, then the error
            return False

    def loop(self) -> None:
        self.console.print(shown(self.banner(), "dim"))
        self._warn_history()  # a history file that is not ours, before the first prompt
        self.warm_up()
        try:
            while self._running:
                line = self._read()
                if line is None:
                    break
                if line.strip():
                    self.handle(line)
        finally:
            service = self.start.settle(SETTLE_SECONDS)
            if service is not None:
                service.close()
            self._runner.close()

    def banner(self) -> str:
        where, user = "a new conversation", self.settings.user
        service = self.start.current
        if service is not None:
            user = service.user_name
            if service.conversation_id is not None:
                title = service.known_title or "untitled"
                where = f"conversation {service.short_id} ({title})"
        return (
            f"todochat · {user} · {self.model_label} · {where}\n"
            "Type a message; /help for commands; Ctrl-D to quit."
        )

    def _read(self) -> str | None:
        """The next line; the start's error once opening the service has failed."""
        pending, self._pending = self._pending, ""
        try:
            if self.start.error is None:
                return self.prompt.prompt(PROMPT, default=pending, pre_run=self._exit_if_failed)
            unsent = pending
        except _StartFailed:
            unsent = self.prompt.default_buffer.text
        except KeyboardInterrupt:
            return ""  # Ctrl-C at the prompt clears the line
        except EOFError:
            return None
        finally:
            self._warn_history()
        return self._start_failed(unsent)

    def _start_failed(self, unsent: str) -> NoReturn:
        """Nothing typed is lost silently: what was not sent is shown, then the error."""
        if unsent.strip():
            self.console.print(shown(f"Not sent: {unsent}", "dim"), soft_wrap=True)
        assert self.start.error is not None
        raise self.start.error

    def _warn_history(self) -> None:
        failure = getattr(self.prompt.history, "failure", None)
        if failure:
            self.console.print(f"Warning: {failure}", style="yellow", soft_wrap=True)
            self.prompt.history.failure = None

    def handle(self, line: str) -> None:
        command = WORDS_AS_COMMANDS.get(line.strip().strip(".!").lower())
        if line.startswith("/") or command:
            self.slash(command or line)
        else:
            self.turn(line)

    def slash(self, line: str) -> None:
        command, arg = commands.parse(line)
        if command is None:
            self.console.print(error_line(f"unknown command {line.split()[0]!r}; /help lists them"))
            return
        if arg and not command.usage:
            self.console.print(error_line(f"{command.name} takes no arguments"))
            return
        if command.needs_argument and not arg:
            self.console.print(f"Usage: {command.name} {command.usage}", style="dim")
            return
        try:
            command.handler(self, arg)
        except TodochatError as exc:
            self.console.print(error_line(str(exc)), soft_wrap=True)
        except KeyboardInterrupt:
            self.console.print("Cancelled.", style="dim")

    def turn(self, text: str) -> None:
        if not self._warmed(text):
            return
        reply = StreamedReply(self.console)
        try:
            with reply:
                result = self.run(self.service.turn(text, reply.add))
                reply.finish(None if result.incomplete else result.reply)
            if result.incomplete:
                self._incomplete(result.incomplete)
        except KeyboardInterrupt:
            from todochat.turn import CANCELLED_MARK

            # The service has kept the partial reply in the log, marked the same way.
            self.console.print(Text(CANCELLED_MARK, style="yellow"))
        except MessageNotSavedError as exc:
            self.console.print(error_line(str(exc)), soft_wrap=True)
            self.console.print("It is back at the prompt: press Enter to try again.", style="dim")
            self._pending = text
        except TodochatError as exc:
            self.console.print(error_line(str(exc)), soft_wrap=True)
            self.console.print("Your message is saved; try again or /help.", style="dim")

    def _incomplete(self, why: str) -> None:
        """The mark under a cut reply, as the log has it, and why."""
        from todochat.turn import INCOMPLETE_MARK

        self.console.print(Text(INCOMPLETE_MARK, style="yellow"))
        self.console.print(incomplete_note(why), soft_wrap=True)
