"""Reading and checking an export before anything is written (`todochat.log.importer` writes).

Every value is taken as the chat and the tools take it (the same checks, the same cleaning),
so an import stores nothing they would refuse, and a bad file is one line saying where,
never a traceback. Ids of messages and changes are the file's own: they only resolve the
file's references (a reply's question, a change's message) and are never written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from todochat.errors import ConfigError, InvalidInputError, TodochatError
from todochat.log.export import FORMAT, VERSION

T = TypeVar("T")

# Task numbers and the counter: far below the column's 2**31, so later adds never overflow.
MAX_NUMBER = 1_000_000_000
# Ids we export fit 64 bits; a longer number is refused before Python turns its digits
# (thousands of them, in a crafted file) into an int.
MAX_DIGITS = 19
INTEGER = 2**31  # a plain integer column holds -INTEGER .. INTEGER - 1 on PostgreSQL
ROLES = ("user", "assistant")
ACTIONS = ("added", "updated", "completed", "reopened", "deleted", "undo")


@dataclass
class ConversationPlan:
    row: dict[str, Any]  # conversation columns, checked
    messages: list[dict[str, Any]]  # file_id, role, content, created_at, reply_to (a file id)


@dataclass
class UserPlan:
    name: str
    conversations: list[ConversationPlan]
    tasks: list[dict[str, Any]]  # task columns, checked
    changes: list[dict[str, Any]]  # change log entries, references still the file's
    counter: int  # the highest task number the file says was ever given


def read_export(path: str) -> dict[str, Any]:
    """The document in `path`, checked; `InvalidInputError` says what is wrong with it."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TodochatError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        document = json.loads(raw, parse_int=_bounded_int)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise InvalidInputError(f"{path} is not valid JSON{where}") from None
    except RecursionError:
        raise InvalidInputError(f"{path} is not an export: it is nested too deeply") from None
    except _TooLong as exc:
        raise InvalidInputError(f"{path} is not an export: it holds {exc}") from None
    check_document(document, path)
    return document


class _TooLong(Exception):
    pass


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise _TooLong(f"a number of {len(digits.lstrip('-')):,} digits")
    return int(digits)


def check_document(document: Any, path: str) -> None:
    """Raise `InvalidInputError` unless this is an export this version can read."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidInputError(f'{path} is not a todochat export (no "format": "{FORMAT}")')
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InvalidInputError(f"{path} has no valid format version")
    if version > VERSION:
        raise InvalidInputError(
            f"{path} is export format version {version}; this todochat reads up to version "
            f"{VERSION}: upgrade todochat to import it"
        )
    if not isinstance(document.get("users"), list):
        raise InvalidInputError("not a todochat export: the file lacks a valid 'users'")


def plan_import(document: dict[str, Any], source: str) -> list[UserPlan]:
    """Every user of a checked document, each value checked; the error names `source` and
    where in it the fault is."""
    try:
        users = [_within(_whose(i, e), _user, e) for i, e in enumerate(document["users"])]
        _unique([u.name for u in users], "a user name")
        _unique([c.row["id"] for u in users for c in u.conversations], "a conversation id")
        # A task is one user's: another's change to it could be undone onto their task.
        _unique([i for u in users for i in _task_ids(u)], "a task id")
    except InvalidInputError as exc:
        raise InvalidInputError(f"cannot import {source}: {exc}") from None
    return users


def _task_ids(user: UserPlan) -> set[uuid.UUID]:
    return {t["id"] for t in user.tasks} | {c["task_id"] for c in user.changes}


def _within(where: str, check: Callable[..., T], *args: Any) -> T:
    """`check(*args)`, its error saying where it is."""
    try:
        return check(*args)
    except (InvalidInputError, ConfigError) as exc:
        raise InvalidInputError(f"{where}: {exc}") from None


def _unique(values: list[Any], what: str) -> None:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise InvalidInputError(f"{what} appears twice: {_shown(value)}")
        seen.add(value)


def _whose(index: int, entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"user {_shown(name)}" if isinstance(name, str) else f"user {index + 1}"


def _user(entry: Any) -> UserPlan:
    """A user's part of the file; the name as `TODOCHAT_USER` and `--user` take it."""
    from todochat.config import check_user_name

    _object(entry, "a user")
    name = entry.get("name")
    if not isinstance(name, str):
        raise InvalidInputError("it lacks a valid 'name'")
    check_user_name(name, "the user name")
    conversations = _each(entry.get("conversations"), "conversations", "conversation", _talk)
    tasks = _each(entry.get("tasks", []), "tasks", "task", _task)
    _unique([t["number"] for t in tasks], "a task number")
    changes = _each(entry.get("task_changes", []), "task_changes", "change", _change)
    _unique([c["file_id"] for c in changes], "a change id")
    counter = entry.get("last_task_number", 0)
    return UserPlan(name, conversations, tasks, changes, _number(counter, "last_task_number", 0))


def _each(items: Any, name: str, what: str, check: Callable[[Any], T]) -> list[T]:
    if not isinstance(items, list):
        raise InvalidInputError(f"{name!r} is not a list")
    return [_within(f"{what} {i + 1}", check, item) for i, item in enumerate(items)]


def _talk(entry: Any) -> ConversationPlan:
    from todochat.db.models import Conversation
    from todochat.log.conversations import checked_title

    row = _columns(Conversation, entry, ("id", "title"))
    row["title"] = checked_title(row["title"])
    _fits(Conversation, row)
    messages = _each(entry.get("messages"), "messages", "message", _message)
    _unique([m["file_id"] for m in messages], "a message id")
    return ConversationPlan(row, messages)


def _message(entry: Any) -> dict[str, Any]:
    _object(entry, "a message")
    return {
        "file_id": _id(entry.get("id"), "id"),
        "role": _one_of(entry.get("role"), "role", ROLES),
        "content": _text(entry.get("content"), "content"),
        "created_at": _time(entry.get("created_at"), "created_at"),
        "reply_to": _optional(_id, entry.get("reply_to"), "reply_to"),
    }


def _task(entry: Any) -> dict[str, Any]:
    from todochat.db.models import Task
    from todochat.tasks.queries import checked_fields

    row = _columns(Task, entry, ("id", "number", "title"))
    row["number"] = _number(row["number"], "number", 1)
    fields = (row["title"], row.get("notes", ""), row.get("priority"))
    row["title"], row["notes"], row["priority"] = checked_fields(*fields)
    _check_due(row)
    _fits(Task, row)
    return row


def _check_due(row: dict[str, Any]) -> None:
    """Due dates within the years the chat accepts: every one must show in any zone."""
    from todochat.tasks import dates

    for day in (row.get("due_on"), row.get("due_at") and row["due_at"].date()):
        if day is not None:
            dates.check_due_day(day)


def _change(entry: Any) -> dict[str, Any]:
    _object(entry, "a change")
    return {
        "file_id": _id(entry.get("id"), "id"),
        "task_id": _uuid(entry.get("task_id"), "task_id"),
        "task_number": _number(entry.get("task_number"), "task_number", 1),
        "action": _one_of(entry.get("action"), "action", ACTIONS),
        "before": _within("before", _snapshot, entry.get("before")),
        "after": _within("after", _snapshot, entry.get("after")),
        "conversation_id": _optional(_uuid, entry.get("conversation_id"), "conversation_id"),
        "message_id": _optional(_id, entry.get("message_id"), "message_id"),
        "reverts_id": _optional(_id, entry.get("reverts_id"), "reverts_id"),
        "undone_at": _optional(_time, entry.get("undone_at"), "undone_at"),
        "created_at": _time(entry.get("created_at"), "created_at"),
    }


def _snapshot(fields: Any) -> dict[str, Any] | None:
    """A task as a change logged it: an undo puts these fields back, so they pass the
    task's checks (JSON values, as `changes.snapshot` writes them)."""
    from todochat.tasks.change_log import FIELDS

    if fields is None:
        return None
    _object(fields, "a task snapshot")
    checked = _task({**fields, "id": str(uuid.UUID(int=0))})
    out = {name: checked.get(name) for name in FIELDS}
    for name in ("done", "created_at", "updated_at"):
        if out[name] is None:
            raise InvalidInputError(f"it lacks a valid {name!r}")
    return {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in out.items()}


def _columns(model: type, entry: Any, required: tuple[str, ...]) -> dict[str, Any]:
    """The entry's values for the model's columns (but its owner), each checked and converted
    to the column's type; a column the file lacks is left to its default."""
    _object(entry, f"a {model.__tablename__[:-1]}")
    row = {}
    for column in model.__table__.columns:
        if column.key != "user_id" and entry.get(column.key) is not None:
            row[column.key] = _typed(column, entry[column.key])
    for name in required:
        if name not in row:
            raise InvalidInputError(f"it lacks a valid {name!r}")
    return row


def _typed(column, raw: Any) -> Any:
    """A JSON value as the column's Python type (times, dates, ids come as strings)."""
    kind = getattr(column.type, "impl", column.type).python_type
    if kind is str:
        return _text(raw, column.key)
    checks = {datetime: _time, date: _day, uuid.UUID: _uuid, bool: _flag, int: _number}
    if kind not in checks:
        raise InvalidInputError(f"{column.key!r} cannot be imported")
    return checks[kind](raw, column.key)


def _object(item: Any, what: str) -> None:
    if not isinstance(item, dict):
        raise InvalidInputError(f"{what} is not an object")


def _fits(model: type, row: dict[str, Any]) -> None:
    """Text within its column's width (a column no check of the chat's covers)."""
    for column in model.__table__.columns:
        length = getattr(column.type, "length", None)
        if length and isinstance(row.get(column.key), str) and len(row[column.key]) > length:
            raise InvalidInputError(f"{column.key!r} is longer than {length} characters")


def _text(raw: Any, name: str) -> str:
    """Text as every store takes it: NUL bytes go, lone surrogates become U+FFFD."""
    from todochat.turn import clean_text

    if not isinstance(raw, str):
        raise InvalidInputError(f"{name!r} is not text")
    return clean_text(raw)


def _one_of(raw: Any, name: str, choices: tuple[str, ...]) -> str:
    value = _text(raw, name)
    if value not in choices:
        raise InvalidInputError(f"{name} is one of {', '.join(choices)}, not {_shown(value)}")
    return value


def _number(raw: Any, name: str, low: int = -INTEGER, high: int | None = None) -> int:
    high = (MAX_NUMBER if low >= 0 else INTEGER - 1) if high is None else high
    if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
        raise InvalidInputError(f"{name!r} is not a whole number from {low} to {high:,}")
    return raw


def _id(raw: Any, name: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise InvalidInputError(f"{name!r} is not a whole number")
    return raw


def _flag(raw: Any, name: str) -> bool:
    if not isinstance(raw, bool):
        raise InvalidInputError(f"{name!r} is not true or false")
    return raw


def _uuid(raw: Any, name: str) -> uuid.UUID:
    return _parsed(raw, name, uuid.UUID, "an id")


def _time(raw: Any, name: str) -> datetime:
    return _parsed(raw, name, _utc, "an ISO 8601 time with a zone")


def _day(raw: Any, name: str) -> date:
    return _parsed(raw, name, date.fromisoformat, "an ISO 8601 date")


def _parsed(raw: Any, name: str, parse: Callable[[str], T], what: str) -> T:
    """`parse(raw)` when it is text that parses; else an error saying what it should be."""
    try:
        if isinstance(raw, str):
            return parse(raw)
    except (ValueError, OverflowError):
        pass
    raise InvalidInputError(f"{name!r} is not {what}")


def _utc(text: str) -> datetime:
    """A time with its zone, in UTC (one that UTC cannot hold overflows)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(text)
    return moment.astimezone(UTC)


def _optional(check: Callable[[Any, str], T], raw: Any, name: str) -> T | None:
    return None if raw is None else check(raw, name)


def _shown(value: Any) -> str:
    """A value from the file for an error line: quoted, escaped, cut."""
    text = str(value)
    return repr(text[:40] + "…" if len(text) > 40 else text)
