"""The chat service opened behind the prompt.

The REPL draws its prompt first. Opening the app database (SQLAlchemy alone takes about
half a second to import) and then loading the agent stack (seconds) happen in one thread
while the person types; what needs the service waits for it, a redraw never does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from todochat.turn import ChatService


class ServiceStart:
    """A `ChatService` being opened in a thread (or already open), then warmed up."""

    def __init__(self, open_service: Callable[[], ChatService]):
        self._open = open_service
        self._service: ChatService | None = None
        self.error: Exception | None = None
        self._settled = threading.Event()  # opened, or failed
        self._thread: threading.Thread | None = None
        # Called from the thread when opening failed: the REPL ends its prompt with it.
        self.on_failure: Callable[[], None] = lambda: None

    @classmethod
    def opened(cls, service: ChatService) -> ServiceStart:
        """A start that has nothing left to open (the conversation was resolved up front)."""
        start = cls(lambda: service)
        start._service = service
        start._settled.set()
        return start

    def begin(self, then: Callable[[ChatService], None]) -> None:
        """Open the service if need be, then run `then` with it (the warm-up), in a thread."""
        self._thread = threading.Thread(
            target=self._run, args=(then,), name="todochat-start", daemon=True
        )
        self._thread.start()

    def _run(self, then: Callable[[ChatService], None]) -> None:
        if self._service is None:
            try:
                self._service = self._open()
            except Exception as exc:  # raised again where the REPL waits for the service
                self.error = exc
                self._settled.set()
                self.on_failure()
                return
            self._settled.set()
        then(self._service)

    @property
    def current(self) -> ChatService | None:
        """The service if it is open; never waits (for redraws)."""
        return self._service

    def service(self) -> ChatService:
        """The service, once open (Ctrl-C interrupts the wait); the opening error if it failed."""
        self._settled.wait()
        if self.error is not None:
            raise self.error
        assert self._service is not None
        return self._service

    def ready(self) -> ChatService:
        """The service once the warm-up after opening is done too (a turn needs both)."""
        if self._thread is not None:
            self._thread.join()
        return self.service()

    def settle(self, timeout: float) -> ChatService | None:
        """The service to close at exit: wait up to `timeout` for the opening to end (a
        server that does not answer must not keep Ctrl-D from quitting); None if it failed."""
        self._settled.wait(timeout)
        return self._service
