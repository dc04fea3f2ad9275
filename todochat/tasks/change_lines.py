"""How logged changes read: one line each (`added #3 call mom (due Fri 28 Nov)`), and
under which message of a conversation `todochat history` shows them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy.orm import Session

from todochat.db.models import Message, TaskChange
from todochat.tasks import change_log as changes
from todochat.tasks import dates


def describe_change(change: TaskChange, tz: tzinfo, reverted: TaskChange | None = None) -> str:
    """One line: `added #3 call mom (due Fri 28 Nov)`, `undid: completed #2 pay rent`."""
    if change.action == changes.UNDO:
        inner = describe_change(reverted, tz) if reverted else f"a change to #{change.task_number}"
        return f"undid: {inner}"
    fields = change.after or change.before or {}
    head = f"{change.action} #{change.task_number} {fields.get('title', '')}".rstrip()
    if change.action == "added":
        extra = task_extras(fields, tz)
        return f"{head} ({extra})" if extra else head
    if change.action == "updated":
        return f"{head}: {_differences(change.before or {}, fields, tz)}"
    return head


def task_extras(fields: dict, tz: tzinfo) -> str:
    """`due Fri 28 Nov 17:00, high priority` from a snapshot (empty when neither is set)."""
    return extras(_due_label(fields, tz), fields.get("priority"))


def extras(due_label: str, priority: str | None) -> str:
    """`due Fri 28 Nov 17:00, high priority` from a due label and a priority."""
    parts = [f"due {due_label}"] if due_label else []
    if priority:
        parts.append(f"{priority} priority")
    return ", ".join(parts)


def _due_label(fields: dict, tz: tzinfo) -> str:
    on, at = fields.get("due_on"), fields.get("due_at")
    on = date.fromisoformat(on) if on else None
    return dates.due_label(on, datetime.fromisoformat(at) if at else None, tz)


def _differences(before: dict, after: dict, tz: tzinfo) -> str:
    parts = []
    if before.get("title") != after.get("title"):
        parts.append(f"renamed from {before.get('title')!r}")
    if before.get("notes") != after.get("notes"):
        parts.append("notes changed")
    old, new = _due_label(before, tz), _due_label(after, tz)
    if old != new:
        parts.append(f"due {new or 'never'}" + (f" (was {old})" if old else ""))
    if before.get("priority") != after.get("priority"):
        parts.append(f"priority {after.get('priority') or 'none'}")
    if before.get("list_name") != after.get("list_name"):  # old records have no list: None
        parts.append(f"moved to the {after.get('list_name') or 'to-do'} list")
    return "; ".join(parts) or "no change"


@dataclass(frozen=True)
class ShownChange:
    """A logged change as history shows it: its line, and its record for `--json`."""

    text: str
    change: TaskChange

    def as_json(self) -> dict:
        c = self.change
        return {
            "task": c.task_number,
            "action": c.action,
            "text": self.text,
            "before": c.before,
            "after": c.after,
            "message_id": c.message_id,
            "reverts": c.reverts_id,
            "undone": c.undone_at is not None,
            "at": c.created_at.isoformat(),
        }


def changes_by_message(
    db: Session,
    conversation_id: uuid.UUID,
    messages: list[Message],
    tz: tzinfo,
    partial: bool = False,
) -> dict[int, list[ShownChange]]:
    """The conversation's changes under the message that shows them: the reply of the turn
    that made them, or the turn's own message when it has no reply (a failed model). A change
    without a message (`/undo`) goes under the last message before it. `partial`: the
    messages are the newest page, so only changes of its turns (and, message-less, made
    since its first message) are read."""
    since, first = _page_start(messages) if partial and messages else (None, None)
    logged = changes.conversation_changes(db, conversation_id, since, first)
    if not logged or not messages:
        return {}
    by_id = {c.id: c for c in logged} | changes.by_ids(
        db, {c.reverts_id for c in logged if c.reverts_id} - {c.id for c in logged}
    )
    shown: dict[int, list[ShownChange]] = {}
    for change in logged:
        text = describe_change(change, tz, by_id.get(change.reverts_id))
        anchor = _anchor(change, messages)
        shown.setdefault(anchor, []).append(ShownChange(text, change))
    return shown


def _page_start(messages: list[Message]) -> tuple[datetime, int]:
    """Where a page of the log starts: its first time, and its first turn's message id (a
    reply's question may lie before the page)."""
    first_id = min(m.reply_to or m.id for m in messages)
    return min(m.created_at for m in messages), first_id


def lines_of_turn(
    db: Session, conversation_id: uuid.UUID, message_id: int, tz: tzinfo
) -> list[str]:
    """The lines of the changes made by the turn asked by message `message_id`."""
    asked = db.get(Message, message_id)
    if asked is None or asked.conversation_id != conversation_id:
        return []
    logged = changes.conversation_changes(
        db, conversation_id, asked.created_at, from_message=message_id
    )
    made = [c for c in logged if c.message_id == message_id]
    reverted = changes.by_ids(db, {c.reverts_id for c in made if c.reverts_id})
    return [describe_change(c, tz, reverted.get(c.reverts_id)) for c in made]


def _anchor(change: TaskChange, messages: list[Message]) -> int:
    index = next((i for i, m in enumerate(messages) if m.id == change.message_id), None)
    if index is None and change.message_id is not None:  # its question is before the page
        answer = (m.id for m in messages if m.reply_to == change.message_id)
        return next(answer, messages[0].id)
    if index is None:  # no message of its own: the last one written before the change
        earlier = [i for i, m in enumerate(messages) if m.created_at <= change.created_at]
        return messages[earlier[-1] if earlier else 0].id
    following = messages[index + 1] if index + 1 < len(messages) else None
    if following is not None and following.role == "assistant":
        return following.id
    return messages[index].id
