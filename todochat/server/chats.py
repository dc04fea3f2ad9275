"""The core's chats, kept between requests: making one per request would reopen agent
memory's file and build the model (for OpenAI, a new HTTP client and TLS session) on every
turn. Each chat serves one request at a time; idle ones are kept per (user, conversation),
the least recently used closed beyond `size`."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

from todochat.errors import NotFoundError


class ChatPool:
    def __init__(self, size: int = 128):
        self.size = size
        self._idle: OrderedDict[tuple[str, uuid.UUID, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, user: Any, conversation_id: uuid.UUID) -> Any:
        """A chat of `user` on their conversation (checked now, every time: `NotFoundError`
        for one that is not, or no longer, theirs). Blocking: call it from a worker thread."""
        chat = self._pop(user.name, conversation_id) or user.chat()
        try:
            chat.resume(str(conversation_id))
        except NotFoundError:
            chat.close()
            raise
        return chat

    def give_back(self, chat: Any) -> None:
        """After its turn; a chat whose conversation was forgotten meanwhile is closed."""
        if chat.conversation_id is None:
            chat.close()
            return
        with self._lock:
            self._idle[(chat.user.name, chat.conversation_id, id(chat))] = chat
            evicted = self._idle.popitem(last=False)[1] if len(self._idle) > self.size else None
        if evicted is not None:
            evicted.close()

    def close(self) -> None:
        with self._lock:
            chats, self._idle = list(self._idle.values()), OrderedDict()
        for chat in chats:
            chat.close()

    def _pop(self, name: str, conversation_id: uuid.UUID) -> Any:
        with self._lock:
            for key in reversed(self._idle):
                if key[:2] == (name, conversation_id):
                    return self._idle.pop(key)
        return None
