"""A page of a conversation's history: what `todochat history` prints, read in one session.

The newest `newest` messages (all of them when None) after `since`, in turn order, with the
changes each shows and how many earlier ones the page leaves out: bounded by the page, not
by the conversation (the page is read backwards down an index; the count is index-only).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, tzinfo

from todochat.db import Database
from todochat.log import conversations as conversation_queries
from todochat.log import messages as message_queries
from todochat.log.pairing import in_turn_order
from todochat.tasks.change_lines import ShownChange, changes_by_message


@dataclass
class HistoryPage:
    messages: list  # rows: id, conversation_id, role, content, created_at, reply_to
    changes: dict[int, list[ShownChange]]
    hidden: int  # earlier messages (after `since`) the page leaves out

    def change_lines(self) -> dict[int, list[str]]:
        """The lines shown under each message (its changes to the tasks), by message id."""
        return {message: [c.text for c in shown] for message, shown in self.changes.items()}


def read_page(
    database: Database,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    tz: tzinfo,
    since: datetime | None,
    newest: int | None,
) -> HistoryPage:
    """The page of the user's conversation; another user's is "not found", as elsewhere."""
    with database.session() as db:
        conversation_queries.get_conversation(db, user_id, conversation_id)
        page = message_queries.list_messages(db, conversation_id, since, newest)
        hidden = 0
        if newest is not None and len(page) == newest:
            hidden = message_queries.count_messages(db, conversation_id, since) - newest
        messages = in_turn_order(page)
        partial = hidden > 0 or since is not None
        changes = changes_by_message(db, conversation_id, messages, tz, partial)
    return HistoryPage(messages, changes, hidden)
