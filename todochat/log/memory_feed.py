"""What one turn's agent memory reads of the durable log (the app database's side of it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from todochat.db import Database
from todochat.db.engine import _first_line
from todochat.db.models import Message
from todochat.errors import AppDatabaseError, NotFoundError
from todochat.identity import short_id
from todochat.log import conversations as conversation_queries
from todochat.log import messages as message_queries


class TurnLog:
    """This user's conversation as the turn answering `message_id` may read it.

    `connection`, when given, is the turn lock's own connection (PostgreSQL, autocommit): the
    check before every turn then costs one round trip, not a transaction's three.
    """

    def __init__(
        self,
        database: Database,
        user_id: uuid.UUID,
        conversation_id: uuid.UUID,
        message_id: int,
        connection: Connection | None = None,
    ):
        self.database = database
        self.user_id = user_id
        self.conversation_id = conversation_id
        self.message_id = message_id
        self.connection = connection

    def earlier(self, newest: int | None = None) -> tuple[datetime | None, list[Message]]:
        """The reset mark and the messages after it (the `newest` so many when given), but
        for this turn's own (a clear is a fresh start, never undone by a rebuild)."""
        with self.database.session() as db:
            conversation = conversation_queries.get_conversation(
                db, self.user_id, self.conversation_id
            )
            after = conversation.memory_reset_id
            logged = message_queries.list_messages(
                db, conversation.id, newest=newest, after_id=after
            )
        return conversation.memory_reset_at, [m for m in logged if m.id != self.message_id]

    def replies_after(
        self, message_id: int, limit: int
    ) -> tuple[datetime | None, list[tuple[Message | None, Message]]]:
        """The reset mark and the newest replies after `message_id`, with their questions."""
        with self._reading() as db:
            found = message_queries.replies_after(
                db, self.user_id, self.conversation_id, message_id, limit
            )
        if found is None:
            raise NotFoundError(f"no conversation {short_id(self.conversation_id)}")
        return found

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        if self.connection is None:
            with self.database.session() as db:
                yield db
            return
        try:
            with Session(bind=self.connection) as db:
                yield db
        except DBAPIError as exc:
            raise AppDatabaseError(f"app database error: {_first_line(exc)}") from None
