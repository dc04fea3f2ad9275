"""Issue 19, item 1: the offline model's reply says what the tools did. Every corpus phrasing
that needs no earlier conversation runs through the real tools against its scenario's tasks,
and the tasks table is compared before and after: the reply claims a change exactly when the
data changed, and names each task that changed."""

from __future__ import annotations

import asyncio
import re

import pytest
from app_state import open_chat, tasks_of

from bench import offline_corpus
from todochat.db.models import Task
from todochat.turn import ChatService

SCENARIOS, CASES = offline_corpus.load()
# Phrasings whose scenario starts from no conversation: a fresh chat reproduces them exactly.
FRESH = [c for c in CASES if not SCENARIOS[c.scenario]["history"]]
TASK = re.compile(r"#(\d+) (.+?) \[(open|done)\](?: \(notes: (.*)\))?$")
CLAIMS = re.compile(r"^(?:Added|Deleted|Completed|Reopened|Updated|Undone|Undid)\b", re.MULTILINE)


def seed(service: ChatService, lines: list[str]) -> None:
    """The user's tasks are exactly the scenario's, with its numbers."""
    with service.database.session() as db:
        db.query(Task).filter(Task.user_id == service.user_id).delete()
        for line in lines:
            number, title, status, notes = TASK.match(line).groups()
            db.add(
                Task(
                    user_id=service.user_id,
                    number=int(number),
                    title=title,
                    notes=notes or "",
                    done=status == "done",
                )
            )


def snapshot(service: ChatService) -> dict[int, tuple]:
    return {
        t.number: (t.title, t.notes, t.done, t.due_on, t.due_at, t.priority, t.list_name)
        for t in tasks_of(service, "all")
    }


@pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)  # 1,000 turns: one backend
def test_the_reply_claims_a_change_exactly_when_the_data_changed(settings):
    service = open_chat(settings)
    false_claims, silent_changes, unnamed = [], [], []
    for case in FRESH:
        seed(service, SCENARIOS[case.scenario]["tasks"])
        service.new_conversation()
        before = snapshot(service)
        reply = asyncio.run(service.turn(case.message)).reply.replace("*", "")
        service.memory.close()  # each conversation's memory file handle: 1,000 would stay open
        after = snapshot(service)
        changed = {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}
        claimed = bool(CLAIMS.search(reply))
        if claimed and not changed:
            false_claims.append((case.message, reply))
        if changed and not claimed:
            silent_changes.append((case.message, reply))
        if any(f"#{n}" not in reply for n in changed):
            unnamed.append((case.message, sorted(changed), reply))
    service.close()
    assert not false_claims, "\n".join(map(str, false_claims))
    assert not silent_changes, "\n".join(map(str, silent_changes))
    assert not unnamed, "\n".join(map(str, unnamed))


@pytest.mark.parametrize("verb", ["delete the plumber task", "mark the plumber as done"])
def test_the_issues_repro_says_what_it_did(settings, verb):
    service = open_chat(settings)
    asyncio.run(service.turn("call the plumber tomorrow"))
    service.new_conversation()  # as `todochat chat -m` does, each message its own chat
    reply = asyncio.run(service.turn(verb)).reply
    assert "couldn't find" not in reply and "#1 call the plumber" in reply.replace("*", "")
