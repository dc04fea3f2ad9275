"""Exports: the versioned JSON document (see README, "Export format") and Markdown for people.

Version 1 holds, per user: conversations with their messages (ids and times kept) and, for
a whole-log export, the user's tasks with every task column. Version 2 adds to a whole-log
export the task change log and the task counter (`history`'s `->` lines, undo, numbers never
reused). `todochat.log.importer` reads both.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from todochat.ui.serialize import iso, row_dict, task_dict, value

if TYPE_CHECKING:
    from todochat.db import Database

FORMAT = "todochat-export"
VERSION = 2


def build_export(database: Database, user: str | None, refs: list[str] | None) -> dict[str, Any]:
    """The export of `user`'s conversations `refs` (None: all, with tasks); `user` None:
    every user's whole log (operators)."""
    from todochat.log import conversations as conversation_queries
    from todochat.log import transfer

    with database.session() as db:
        users = transfer.users_by_name(db, None if user is None else [user])
        ids = None
        if refs is not None and users:
            resolve = conversation_queries.resolve_conversation
            ids = list(dict.fromkeys(resolve(db, users[0].id, r).id for r in refs))
        elif refs is not None:
            raise _not_found(refs[0])
        entries = [_user_entry(db, u, ids) for u in users]
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": iso(datetime.now(UTC)),
        "users": entries,
    }


def _not_found(ref: str):
    from todochat.errors import NotFoundError

    return NotFoundError(f"no conversation {ref!r} (see `todochat conversations`)")


# `reply_to`: the id of the user message a reply answers (null for a user message, or a reply
# an earlier version logged); messages are listed in the order they were logged.
EXPORTED_MESSAGE_FIELDS = ("id", "role", "content", "created_at", "reply_to")


def _user_entry(db, user, ids: list[uuid.UUID] | None) -> dict[str, Any]:
    from todochat.log import transfer

    conversations = transfer.conversations_of(db, user.id, ids)
    by_id = {c.id: {**row_dict(c, ("id", "title")), "messages": []} for c in conversations}
    for message in transfer.messages_of(db, list(by_id)):
        by_id[message.conversation_id]["messages"].append(
            {c: value(getattr(message, c)) for c in EXPORTED_MESSAGE_FIELDS}
        )
    entry: dict[str, Any] = {"name": user.name, "conversations": list(by_id.values())}
    if ids is None:
        entry["last_task_number"] = user.last_task_number
        entry["tasks"] = [task_dict(t) for t in transfer.tasks_of(db, user.id)]
        entry["task_changes"] = [row_dict(c) for c in transfer.changes_of(db, user.id)]
    return entry


def export_counts(document: dict[str, Any]) -> tuple[int, int, int]:
    """(conversations, messages, tasks) in a document."""
    users = document["users"]
    conversations = [c for u in users for c in u["conversations"]]
    messages = sum(len(c["messages"]) for c in conversations)
    return len(conversations), messages, sum(len(u.get("tasks", [])) for u in users)
