"""Loading an export (`todochat.export`) into the app database, keeping ids and times.

What is already there is left alone, so importing a file twice adds nothing: a conversation
is known by its id, a message by its id within that conversation, a task by its id. A task
whose number the user already uses elsewhere gets the next free number; a message id used
by another conversation gets a new id.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from todochat.errors import InvalidInputError, TodochatError
from todochat.export import FORMAT, VERSION


@dataclass
class ImportReport:
    conversations: int = 0
    messages: int = 0
    tasks: int = 0
    renumbered: int = 0
    skipped: int = 0  # conversations or tasks whose id belongs to another user


def read_export(path: str) -> dict[str, Any]:
    """The document in `path`, checked; `InvalidInputError` says what is wrong with it."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TodochatError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise InvalidInputError(f"{path} is not valid JSON{where}") from None
    check_document(document, path)
    return document


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
    _check(document, {"users": list}, "the file")
    for user in document["users"]:
        _check(user, {"name": str, "conversations": list}, "a user")
        for conversation in user["conversations"]:
            _check(conversation, {"id": str, "title": str, "messages": list}, "a conversation")
            for message in conversation["messages"]:
                _check(message, MESSAGE_FIELDS, "a message")
        for task in user.get("tasks", []):
            _check(task, {"id": str, "number": int, "title": str}, "a task")


MESSAGE_FIELDS = {"id": int, "role": str, "content": str, "created_at": str}


def _check(item: Any, fields: dict[str, type], what: str) -> None:
    if not isinstance(item, dict):
        raise InvalidInputError(f"not a todochat export: {what} is not an object")
    for name, kind in fields.items():
        if not isinstance(item.get(name), kind) or isinstance(item.get(name), bool):
            raise InvalidInputError(f"not a todochat export: {what} lacks a valid {name!r}")


def import_export(database_url: str, document: dict[str, Any]) -> ImportReport:
    """Add what the document holds and the database lacks, in one transaction."""
    from sqlalchemy.exc import StatementError

    from todochat.db import open_database, transfer
    from todochat.db import users as user_queries

    report = ImportReport()
    try:
        with open_database(database_url).session() as session:
            for entry in document["users"]:
                user = user_queries.get_or_create_user(session, entry["name"])
                _import_conversations(session, user.id, entry["conversations"], report)
                _import_tasks(session, user.id, entry.get("tasks", []), report)
            transfer.sync_message_ids(session)
    except (ValueError, TypeError, KeyError, StatementError) as exc:
        detail = getattr(exc, "orig", None) or exc
        raise InvalidInputError(f"not a todochat export: {detail}") from None
    return report


def _import_conversations(session, user_id: uuid.UUID, entries: list, report: ImportReport):
    from todochat.db import transfer
    from todochat.db.models import Conversation, Message

    owners = transfer.conversation_owners(session, [uuid.UUID(c["id"]) for c in entries])
    new, messages = [], []
    for entry in entries:
        conversation_id = uuid.UUID(entry["id"])
        owner = owners.get(conversation_id)
        if owner is not None and owner != user_id:
            report.skipped += 1
            continue
        if owner is None:
            new.append(_columns(Conversation, entry, user_id=user_id, id=conversation_id))
        messages += [(conversation_id, m) for m in entry["messages"]]
    transfer.insert_rows(session, Conversation, new)
    report.conversations += len(new)
    # Every message kept lands in a conversation of this user: its owner, for search (m006).
    rows = [{**row, "user_id": user_id} for row in _new_messages(session, messages)]
    transfer.insert_rows(session, Message, rows)
    report.messages += len(rows)


def _new_messages(session, messages: list[tuple[uuid.UUID, dict]]) -> list[dict]:
    """Messages not yet logged; an id another conversation holds is left to the database."""
    from todochat.db import transfer
    from todochat.db.messages import ASSISTANT, USER

    homes = transfer.message_homes(session, [m["id"] for _, m in messages])
    rows, taken = [], {}  # message id kept -> its conversation
    for conversation_id, message in messages:
        if message["role"] not in (USER, ASSISTANT):
            raise ValueError(f"a message has the unknown role {message['role']!r}")
        home = homes.get(message["id"])
        if home == conversation_id:
            continue  # imported before
        row = {
            "conversation_id": conversation_id,
            "role": message["role"],
            "content": message["content"],
            "created_at": _time(message["created_at"]),
        }
        if home is None and message["id"] not in taken:
            row["id"] = message["id"]
            taken[message["id"]] = conversation_id
            # Only a question that kept its id here (or was imported before, into this same
            # conversation) is named; else the reply is paired as an earlier version's is,
            # with the user message before it: never with another conversation's message.
            question = message.get("reply_to")
            if conversation_id in (taken.get(question), homes.get(question)):
                row["reply_to"] = question
        rows.append(row)
    # Rows with and without an id cannot share one multi-row INSERT.
    return sorted(rows, key=lambda r: "id" not in r)


def _import_tasks(session, user_id: uuid.UUID, entries: list, report: ImportReport) -> None:
    from todochat.db import transfer
    from todochat.db.models import Task

    ids, numbers = transfer.existing_tasks(session, user_id)
    wanted = [uuid.UUID(t["id"]) for t in entries]
    foreign = transfer.other_task_ids(session, wanted) - ids
    # Renumbered tasks go after every number of the database and of the file, so a new
    # number never takes another imported task's.
    highest = max([transfer.highest_task_number(session, user_id)] + [t["number"] for t in entries])
    rows = []
    for entry in entries:
        task_id = uuid.UUID(entry["id"])
        if task_id in ids:
            continue
        if task_id in foreign:
            report.skipped += 1
            continue
        row = _columns(Task, entry, user_id=user_id, id=task_id)
        if row["number"] in numbers:
            highest += 1
            row["number"] = highest
            report.renumbered += 1
        numbers.add(row["number"])
        rows.append(row)
    transfer.insert_rows(session, Task, rows)
    report.tasks += len(rows)


def _columns(model: type, entry: dict[str, Any], **fixed: Any) -> dict[str, Any]:
    """The entry's values for the model's columns, each converted to the column's type."""
    row = dict(fixed)
    for column in model.__table__.columns:
        if column.key in fixed or column.key not in entry or entry[column.key] is None:
            continue
        row[column.key] = _typed(column, entry[column.key])
    return row


def _typed(column, raw: Any) -> Any:
    """A JSON value as the column's Python type (times, dates, ids come as strings)."""
    kind = _python_type(column)
    if kind is datetime:
        return _time(raw)
    if kind is date:
        return date.fromisoformat(raw)
    if kind is uuid.UUID:
        return uuid.UUID(raw)
    if kind is bool and not isinstance(raw, bool):
        raise ValueError(f"{column.key!r} must be true or false")
    if kind in (int, str) and not isinstance(raw, kind):
        raise ValueError(f"{column.key!r} must be a {kind.__name__}")
    return raw


def _python_type(column) -> type:
    kind = getattr(column.type, "impl", column.type)  # a TypeDecorator's stored type
    try:
        return kind.python_type
    except NotImplementedError:
        return object


def _time(raw: str) -> datetime:
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"the time {raw!r} has no zone")
    return moment
