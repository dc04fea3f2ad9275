"""Loading an export (`todochat.log.export`) into the app database, all of it or nothing.

The file is checked whole before anything is written (`todochat.log.import_check`). What is
already there is left alone, so importing a file twice adds nothing: a conversation is
known by its id, a task by its id, a message by its conversation, role, time and text, a
change by its task, action and time. Messages and changes get this database's ids, in the
file's order; the file's ids only say which question a reply answers and which message or
change a change names. A task whose number the user already gives another task gets the
next free number, and the user's counter goes past every number the import brings.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from todochat.log import transfer
from todochat.log.import_check import ConversationPlan, UserPlan, plan_import, read_export

if TYPE_CHECKING:
    from todochat.db import Database

__all__ = ["ImportReport", "import_export", "import_file", "read_export"]

MessageIds = dict[tuple[uuid.UUID, int], int]  # (conversation, the file's id) -> id here


@dataclass
class ImportReport:
    conversations: int = 0
    messages: int = 0
    tasks: int = 0
    changes: int = 0
    renumbered: int = 0
    skipped: int = 0  # conversations, tasks or changes of tasks that belong to another user


def import_file(database: Database, path: str) -> ImportReport:
    """Import the export in `path` (see `import_export`)."""
    return import_export(database, read_export(path), path)


def import_export(database: Database, document: dict[str, Any], source="the file") -> ImportReport:
    """Add what the checked document holds and the database lacks, in one transaction."""

    users = plan_import(document, source)
    report = ImportReport()
    with database.session() as db:
        transfer.lock_for_import(db)
        for plan in users:
            _import_user(db, plan, report)
    return report


def _import_user(db, plan: UserPlan, report: ImportReport) -> None:
    from todochat.log import conversations as conversation_queries

    user = transfer.ensure_user(db, plan.name)
    mine, message_ids = _import_conversations(db, user.id, plan.conversations, report)
    conversation_queries.place_resets_by_time(db)  # a clear is known by its time in a file
    numbers = _import_tasks(db, user.id, plan, report)
    _import_changes(db, user.id, plan, numbers, (mine, message_ids), report)
    transfer.raise_task_counter(db, user.id, max([plan.counter, *numbers.values()]))


def _import_conversations(
    db, user_id: uuid.UUID, plans: list[ConversationPlan], report: ImportReport
) -> tuple[set[uuid.UUID], MessageIds]:
    """The file's conversations that are the user's (new or already here), with the ids its
    messages have here."""
    from todochat.db.models import Conversation

    owners = transfer.conversation_owners(db, [p.row["id"] for p in plans])
    mine = [p for p in plans if owners.get(p.row["id"], user_id) == user_id]
    report.skipped += len(plans) - len(mine)
    new = [{**p.row, "user_id": user_id} for p in mine if p.row["id"] not in owners]
    transfer.add_rows(db, Conversation, new)
    report.conversations += len(new)
    known = [p.row["id"] for p in mine if p.row["id"] in owners]
    return {p.row["id"] for p in mine}, _import_messages(db, user_id, mine, known, report)


def _import_messages(
    db, user_id: uuid.UUID, plans: list[ConversationPlan], known: list[uuid.UUID], report
) -> MessageIds:
    """Insert the messages not yet here, in the file's order; replies name their question.
    Each carries its owner, the user whose conversations these are (search reads it)."""
    from todochat.db.models import Message

    here = transfer.message_keys(db, known)
    ids: MessageIds = {}
    fresh = []
    for conversation_id, message in ((p.row["id"], m) for p in plans for m in p.messages):
        key = (conversation_id, message["file_id"])
        found = here.get((conversation_id, *(message[k] for k in MESSAGE_KEY)))
        if found is None:
            row = {"conversation_id": conversation_id, "user_id": user_id}
            row |= {k: message[k] for k in MESSAGE_KEY}
            fresh.append((key, row, (conversation_id, message["reply_to"])))
        else:
            ids[key] = found
    _insert_linked(db, Message, fresh, ids, "reply_to")
    report.messages += len(fresh)
    return ids


MESSAGE_KEY = ("role", "created_at", "content")  # with its conversation: a message's identity


def _insert_linked(db, model: type, fresh: list[tuple], ids: dict, column: str) -> None:
    """Insert rows (file key, row, the file key of the row it names) in order, note their
    new ids in `ids`, then point `column` of each at the row it names, when that resolves."""

    new_ids = transfer.insert_rows(db, model, [row for _, row, _ in fresh])
    ids.update(zip([key for key, _, _ in fresh], new_ids, strict=True))
    links = [{"id": ids[key], column: ids[named]} for key, _, named in fresh if named in ids]
    transfer.update_rows(db, model, links)


def _import_tasks(db, user_id: uuid.UUID, plan: UserPlan, report: ImportReport) -> dict:
    """Insert the tasks not yet here; the number here of every task the file names (its
    tasks and its changes' tasks), another user's tasks left out."""
    from todochat.db.models import Task

    named = _named_tasks(plan)
    owners = transfer.task_owners(db, list(named))
    numbers = _numbers(db, user_id, plan, named, owners)
    new = []
    for row in plan.tasks:
        if row["id"] not in owners and row["id"] in numbers:
            report.renumbered += numbers[row["id"]] != row["number"]
            new.append({**row, "number": numbers[row["id"]], "user_id": user_id})
    transfer.add_rows(db, Task, new)
    report.tasks += len(new)
    report.skipped += sum(1 for t in plan.tasks if t["id"] not in numbers)
    return numbers


def _named_tasks(plan: UserPlan) -> dict[uuid.UUID, int]:
    """Each task id of the file with its number there, in the file's order."""
    named = {t["id"]: t["number"] for t in plan.tasks}
    for change in plan.changes:
        named.setdefault(change["task_id"], change["task_number"])
    return named


def _numbers(db, user_id, plan: UserPlan, named: dict, owners: dict) -> dict[uuid.UUID, int]:
    """A number per task, one task per number: a task already here keeps its number; a
    number that names another task of the user here (live or logged) is replaced by the
    next one after every number either side ever gave."""

    taken = transfer.numbers_in_use(db, user_id)
    counter = transfer.task_counter(db, user_id)
    highest = max([counter, plan.counter, *taken, *named.values()])
    numbers = {}
    for task_id, number in named.items():
        owner, number_here = owners.get(task_id, (user_id, number))
        if owner != user_id:
            continue
        if taken.get(number_here, task_id) != task_id:
            highest += 1
            number_here = highest
        taken[number_here] = numbers[task_id] = number_here
    return numbers


def _import_changes(db, user_id, plan: UserPlan, numbers: dict, logged, report) -> None:
    """Insert the changes not yet here, in the file's order, naming this database's rows."""
    from todochat.db.models import TaskChange

    here = transfer.change_keys(db, user_id)
    ids: dict[int, int] = {}
    fresh = []
    for change in plan.changes:
        found = here.get((change["task_id"], change["action"], change["created_at"]))
        if change["task_id"] not in numbers:
            report.skipped += 1
        elif found is not None:
            ids[change["file_id"]] = found
        else:
            row = _change_row(change, user_id, numbers[change["task_id"]], *logged)
            fresh.append((change["file_id"], row, change["reverts_id"]))
    _insert_linked(db, TaskChange, fresh, ids, "reverts_id")
    report.changes += len(fresh)


def _change_row(
    change: dict, user_id: uuid.UUID, number: int, mine: set[uuid.UUID], messages: MessageIds
) -> dict[str, Any]:
    """A change as this database names things: the task's number here, the conversation
    if it is the user's, the message by its id here (else none)."""
    conversation = change["conversation_id"] if change["conversation_id"] in mine else None
    return {
        "user_id": user_id,
        "task_id": change["task_id"],
        "task_number": number,
        "action": change["action"],
        "before": _renumbered(change["before"], number),
        "after": _renumbered(change["after"], number),
        "conversation_id": conversation,
        "message_id": messages.get((conversation, change["message_id"])),
        "reverts_id": None,
        "undone_at": change["undone_at"],
        "created_at": change["created_at"],
    }


def _renumbered(snapshot: dict | None, number: int) -> dict | None:
    return None if snapshot is None else {**snapshot, "number": number}
