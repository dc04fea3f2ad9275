"""One user's log: every feature the CLI, the REPL and the server share, written once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from todochat.db.models import Conversation
from todochat.errors import NotFoundError
from todochat.log import conversations as conversation_queries
from todochat.log import messages as message_queries
from todochat.log import users as user_queries
from todochat.log.pairing import in_turn_order

if TYPE_CHECKING:
    from todochat.app import User
    from todochat.log.forget import ForgetReport
    from todochat.log.history import HistoryPage
    from todochat.log.search import SearchHit


class UserLog:
    """The user's conversations and messages in the app database."""

    def __init__(self, user: User):
        self.user = user
        self.database = user.app.database

    def conversations(
        self, limit: int | None = 20
    ) -> list[conversation_queries.ConversationSummary]:
        """Newest first, with message counts."""
        with self.database.session() as db:
            return conversation_queries.list_conversations(db, self.user.id, limit)

    def conversation(self, ref: str) -> Conversation:
        """By full id or unique prefix; `NotFoundError` for another user's, `AmbiguousError`."""
        with self.database.session() as db:
            return conversation_queries.resolve_conversation(db, self.user.id, ref)

    def get(self, conversation_id: uuid.UUID) -> Conversation:
        """By id; `NotFoundError` when it is not (or no longer) this user's."""
        with self.database.session() as db:
            return conversation_queries.get_conversation(db, self.user.id, conversation_id)

    def conversation_or_latest(self, ref: str | None) -> Conversation:
        """`ref` (full id or unique prefix), or the latest when None (`-c`, `--latest`);
        `NotFoundError` when there is none."""
        if ref is not None:
            return self.conversation(ref)
        found = self.latest()
        if found is None:
            raise NotFoundError("no conversation yet: start one with `todochat chat`")
        return found

    def latest(self) -> Conversation | None:
        """The conversation last active (`--continue`, `--latest`)."""
        with self.database.session() as db:
            return conversation_queries.latest_conversation(db, self.user.id)

    def new_conversation(self, conversation_id: uuid.UUID | None = None) -> Conversation:
        """An untitled conversation created now (a chat creates one with its first message);
        `conversation_id` when the caller chose it (ChatKit threads are named before they
        are saved)."""

        def create(db) -> Conversation:
            user_queries.get_or_create_user(db, self.user.name)
            return conversation_queries.create_conversation(db, self.user.id, conversation_id)

        return self.database.write(create)

    def page(
        self, conversation_id: uuid.UUID, since: datetime | None = None, newest: int | None = None
    ) -> HistoryPage:
        """The newest `newest` messages (all when None) after `since`, with their changes."""
        # Here, not at the top: a page reads the change log, which listings never load.
        from todochat.log.history import read_page

        tz = self.user.app.timezone
        return read_page(self.database, self.user.id, conversation_id, tz, since, newest)

    def messages(
        self, conversation_id: uuid.UUID, before: int | None = None, limit: int = 100
    ) -> list:
        """The newest `limit` messages logged before message `before` (all newest when None),
        in turn order; the conversation must be this user's."""

        with self.database.session() as db:
            conversation_queries.get_conversation(db, self.user.id, conversation_id)
            rows = message_queries.list_messages(db, conversation_id, newest=limit, before=before)
        return in_turn_order(rows)

    def named(self, ids: list[uuid.UUID], everyone: bool = False) -> dict:
        """These conversations of the user (of anyone's, for operators: `everyone`) by id,
        each with its owner's name; those not found are left out."""
        with self.database.session() as db:
            return conversation_queries.conversations_by_id(
                db, ids, None if everyone else self.user.id
            )

    def mark_memory_reset(self, conversation_id: uuid.UUID) -> bool:
        """Record an explicit clear of the conversation's agent memory (a rebuild from the
        log starts after it); False when it is not (or no longer) the user's."""
        with self.database.session() as db:
            try:
                found = conversation_queries.get_conversation(db, self.user.id, conversation_id)
            except NotFoundError:
                return False
            conversation_queries.mark_memory_reset(db, found)
            return True

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Messages matching `query` (words, "a phrase", prefix*), newest first."""
        from todochat.log.search import search_messages

        with self.database.session() as db:
            return search_messages(db, self.user.id, query, limit)

    def rename(self, conversation_id: uuid.UUID, title: str) -> str:
        """Give the conversation a title of the user's own; the title as stored."""
        with self.database.session() as db:
            found = conversation_queries.get_conversation(db, self.user.id, conversation_id)
            return conversation_queries.rename_conversation(db, found, title)

    def export(self, refs: list[str] | None = None) -> dict[str, Any]:
        """These conversations (None: the whole log, with tasks) as an export document."""
        from todochat.log.export import build_export

        return build_export(self.database, self.user.name, refs)

    async def forget(self, conversation_ids: list[uuid.UUID]) -> ForgetReport:
        """Delete these conversations from the log and agent memory, each under its turn lock
        (all of them the user's: another user's is "not found", and nothing is forgotten)."""
        from todochat.log import forget

        for conversation_id in conversation_ids:
            self.get(conversation_id)
        return await forget.forget_conversations(self.user, conversation_ids)

    async def forget_everything(self, with_tasks: bool = False) -> ForgetReport:
        """Delete the whole log and agent memory (and the tasks) of this user."""
        from todochat.log import forget

        return await forget.forget_everything(self.user, with_tasks)
