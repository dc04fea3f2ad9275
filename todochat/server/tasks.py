"""`/tasks`: the caller's task list, and undoing a conversation's last change."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from todochat.server.auth import CallerDep
from todochat.server.threads import owned_thread
from todochat.ui.serialize import task_dict

router = APIRouter()


class Undo(BaseModel):
    thread_id: str  # undo works per conversation, as `/undo` in the REPL does


@router.get("/tasks")
def list_tasks(
    who: CallerDep,
    status: Literal["open", "done", "all"] = "open",
    page: int = Query(1, ge=1),
    size: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """One page of the caller's tasks, soonest due first, and how many there are in all."""
    found = who.user.tasks.page(status, page=page, size=size)
    return {"tasks": [task_dict(t) for t in found.tasks], "total": found.total, "page": page}


@router.post("/tasks/undo")
def undo(who: CallerDep, body: Undo) -> dict[str, str]:
    """Undo the last change conversation `thread_id` made to the caller's tasks."""
    conversation_id = owned_thread(body.thread_id, who).conversation.id
    return {"undone": who.user.tasks.undo(conversation_id)}
