"""Queries on conversations. Every lookup is scoped to one user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, delete, func, select, update
from sqlalchemy.orm import Session

from todochat.db import clock
from todochat.db.models import Conversation, Message, User, utcnow
from todochat.errors import AmbiguousError, InvalidInputError, NotFoundError
from todochat.identity import short_id

TITLE_LENGTH = 60


@dataclass(frozen=True)
class ConversationSummary:
    id: uuid.UUID
    title: str
    messages: int
    created_at: datetime
    updated_at: datetime
    user_name: str = ""

    @property
    def short_id(self) -> str:
        return short_id(self.id)


def title_from(text: str) -> str:
    """A conversation's title: its first message, on one line, cut at a word boundary."""
    line = " ".join(text.split())
    if len(line) <= TITLE_LENGTH:
        return line
    return line[: TITLE_LENGTH - 1].rsplit(" ", 1)[0] + "…"


def create_conversation(
    db: Session, user_id: uuid.UUID, conversation_id: uuid.UUID | None = None
) -> Conversation:
    """A new, untitled conversation of this user (its first message gives the title), with
    the id a client chose when given (a ChatKit client names a thread before it exists)."""
    conversation = Conversation(user_id=user_id, id=conversation_id or uuid.uuid4())
    db.add(conversation)
    db.flush()
    return conversation


def get_conversation(db: Session, user_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation:
    """This user's conversation; another user's is reported as not found, never returned."""
    conversation = db.get(Conversation, conversation_id)
    if conversation is None or conversation.user_id != user_id:
        raise NotFoundError(f"no conversation {short_id(conversation_id)}")
    return conversation


def latest_conversation(db: Session, user_id: uuid.UUID) -> Conversation | None:
    """The conversation this user was last active in (for `chat --continue`)."""
    query = (
        select(Conversation)
        .where(Conversation.user_id == user_id)
        .order_by(Conversation.updated_at.desc(), Conversation.created_at.desc())
        .limit(1)
    )
    return db.scalar(query)


def resolve_conversation(db: Session, user_id: uuid.UUID, ref: str) -> Conversation:
    """Find this user's conversation by full id or unique prefix of its hex or dashed form."""
    needle = ref.strip().lower().replace("-", "")
    if not needle or any(c not in "0123456789abcdef" for c in needle):
        raise NotFoundError(
            f"no conversation {ref!r} (ids are hexadecimal, see `todochat conversations`)"
        )
    # Compared as text inside the database: parsing every id of a long history in Python
    # cost more than the rest of `history`. SQLite stores 32 hex digits, PostgreSQL prints
    # the dashed form.
    dashed = db.get_bind().dialect.name != "sqlite"
    pattern = _dashed(needle) if dashed else needle
    query = select(Conversation.id).where(
        Conversation.user_id == user_id, cast(Conversation.id, String).like(pattern + "%")
    )
    matches = db.scalars(query.limit(6)).all()
    if not matches:
        raise NotFoundError(f"no conversation {ref!r} (see `todochat conversations`)")
    if len(matches) > 1:
        shown = ", ".join(sorted(m.hex[:12] for m in matches)[:5])
        raise AmbiguousError(
            f"conversation prefix {ref!r} is ambiguous: {shown}; type more characters"
        )
    return db.get(Conversation, matches[0])


def _dashed(hex_prefix: str) -> str:
    """A prefix of the 32 hex digits as a prefix of the dashed form (8-4-4-4-12)."""
    parts, start = [], 0
    for size in (8, 4, 4, 4, 12):
        parts.append(hex_prefix[start : start + size])
        start += size
    return "-".join(p for p in parts if p) if len(hex_prefix) > 8 else hex_prefix


def touch_conversation(db: Session, conversation: Conversation, first_text: str | None) -> None:
    """Record activity; the first message gives the conversation its title."""
    conversation.updated_at = utcnow()
    if first_text and not conversation.title:
        conversation.title = title_from(first_text)


def mark_memory_reset(db: Session, conversation: Conversation) -> None:
    """Record an explicit clear: a later rebuild of memory starts after the conversation's
    newest message (by id: a machine whose clock is behind writes later turns all the same).
    The time names this clear, so memory elsewhere sees a new one."""
    newest = select(func.max(Message.id)).where(Message.conversation_id == conversation.id)
    conversation.memory_reset_id = db.scalar(newest) or 0
    conversation.memory_reset_at = clock.now(db)


def place_resets_by_time(db: Session) -> None:
    """Mark the clears known by their time only (imported) by the newest message logged by
    then, all a time can tell."""
    newest = (
        select(func.coalesce(func.max(Message.id), 0))
        .where(Message.conversation_id == Conversation.id)
        .where(Message.created_at <= Conversation.memory_reset_at)
        .scalar_subquery()
    )
    unplaced = (Conversation.memory_reset_at.is_not(None), Conversation.memory_reset_id.is_(None))
    statement = update(Conversation).where(*unplaced).values(memory_reset_id=newest)
    db.execute(statement.execution_options(synchronize_session=False))


def list_conversations(
    db: Session, user_id: uuid.UUID | None, limit: int | None = None
) -> list[ConversationSummary]:
    """Conversations newest first with their message counts (all users when user_id is None).

    The page of conversations is chosen first and only its messages are counted: counting
    every conversation's messages first costs a scan of the whole log.
    """
    query = (
        select(Conversation, User.name)
        .join(User, User.id == Conversation.user_id)
        .order_by(Conversation.updated_at.desc(), cast(Conversation.id, String))
    )
    if user_id is not None:
        query = query.where(Conversation.user_id == user_id)
    if limit is not None:
        query = query.limit(limit)
    page = db.execute(query).all()
    counts = message_counts(db, [c.id for c, _ in page])
    return [
        ConversationSummary(c.id, c.title, counts.get(c.id, 0), c.created_at, c.updated_at, name)
        for c, name in page
    ]


def message_counts(db: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many messages each of these conversations holds (absent: none)."""
    counts: dict[uuid.UUID, int] = {}
    for start in range(0, len(ids), 1000):
        query = (
            select(Message.conversation_id, func.count())
            .where(Message.conversation_id.in_(ids[start : start + 1000]))
            .group_by(Message.conversation_id)
        )
        counts.update({cid: n for cid, n in db.execute(query)})
    return counts


def conversations_by_id(
    db: Session, ids: list[uuid.UUID], user_id: uuid.UUID | None
) -> dict[uuid.UUID, tuple[Conversation, str]]:
    """Conversations by id with their owner's name: the user's only, or (`user_id` None,
    operators' listings) whoever owns them. One query, however many."""
    if not ids:
        return {}
    query = select(Conversation, User.name).join(User, User.id == Conversation.user_id)
    query = query.where(Conversation.id.in_(ids))
    if user_id is not None:
        query = query.where(Conversation.user_id == user_id)
    return {c.id: (c, name) for c, name in db.execute(query)}


def rename_conversation(db: Session, conversation: Conversation, title: str) -> str:
    """Give a conversation a title of the user's choosing (one line); return it."""
    line = checked_title(title)
    if not line:
        raise InvalidInputError("a conversation title cannot be empty")
    conversation.title = line
    return line


def checked_title(title: str) -> str:
    """A title on one line, within the column ("" stays: untitled)."""
    line = " ".join(title.split())
    if len(line) > TITLE_MAX:
        raise InvalidInputError(f"a conversation title is at most {TITLE_MAX} characters")
    return line


TITLE_MAX = 200  # the column's width


def user_conversation_ids(db: Session, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Every conversation id of this user."""
    return list(db.scalars(select(Conversation.id).where(Conversation.user_id == user_id)))


def delete_conversations(
    db: Session, user_id: uuid.UUID, ids: list[uuid.UUID] | None
) -> tuple[int, int]:
    """Delete these (None: all) conversations of this user and their messages.

    Returns (conversations, messages) deleted.
    Messages go by an explicit statement (not only the foreign key's cascade), so the
    search index's triggers see every row leave.
    """
    chosen = [Conversation.user_id == user_id]
    if ids is not None:
        chosen.append(Conversation.id.in_(ids))
    owned = select(Conversation.id).where(*chosen)
    messages = db.execute(delete(Message).where(Message.conversation_id.in_(owned)))
    conversations = db.execute(delete(Conversation).where(*chosen))
    return conversations.rowcount, messages.rowcount
