"""`/threads`: the caller's conversations, their messages, a turn, and forgetting one.

Each route is one call onto the core. Routes that read or write the log are plain `def`s,
which FastAPI runs in worker threads, so a slow database never stalls the event loop. A
thread of another user is a 404 exactly like one that does not exist, decided before any
stream starts (an error inside a stream could only cut a response already sent as 200).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.sse import EventSourceResponse
from pydantic import BaseModel, Field, field_validator

from todochat.errors import NotFoundError
from todochat.server.auth import Caller, CallerDep, caller
from todochat.server.stream import turn_events
from todochat.ui.serialize import iso, message_dict, summary_dict

router = APIRouter()
MESSAGE_LENGTH = 100_000  # characters of one message: far beyond a chat, well inside 1 MB


@dataclass(frozen=True)
class Thread:
    """A conversation of the caller's, checked."""

    who: Caller
    conversation: Any


def owned_thread(thread_id: str, who: CallerDep) -> Thread:
    """The caller's conversation `thread_id` (a full id); 404 for any other."""
    canonical = _full_id(thread_id)
    try:
        return Thread(who, who.user.log.conversation(canonical))
    except NotFoundError:
        raise _no_thread(thread_id) from None


def _full_id(thread_id: str) -> str:
    """A full conversation id (not a prefix: a URL names one thing); 404 for anything else."""
    try:
        return str(uuid.UUID(thread_id))
    except ValueError:
        raise _no_thread(thread_id) from None


def _no_thread(thread_id: str) -> HTTPException:
    return HTTPException(404, f"no thread {thread_id[:64]}")


ThreadDep = Annotated[Thread, Depends(owned_thread)]


class NewMessage(BaseModel):
    """A message to send; checked before the stream starts, so a bad one is a 422."""

    text: str = Field(min_length=1, max_length=MESSAGE_LENGTH)

    @field_validator("text")
    @classmethod
    def not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the message is blank")
        return text


def thread_dict(conversation: Any) -> dict[str, Any]:
    return {
        "id": str(conversation.id),
        "title": conversation.title,
        "created_at": iso(conversation.created_at),
        "updated_at": iso(conversation.updated_at),
    }


def message_with_question(message: Any) -> dict[str, Any]:
    """A message as `history --json` shows it, and the question a reply answers."""
    return {**message_dict(message), "reply_to": message.reply_to}


@router.post("/threads", status_code=201)
def create_thread(who: CallerDep) -> dict[str, Any]:
    """Start a conversation (titled by its first message)."""
    return thread_dict(who.user.log.new_conversation())


@router.get("/threads")
def list_threads(who: CallerDep, limit: int = Query(20, ge=1, le=500)) -> dict[str, Any]:
    """The caller's conversations, newest first."""
    return {"threads": [summary_dict(s) for s in who.user.log.conversations(limit)]}


@router.get("/threads/{thread_id}/messages")
def list_messages(
    thread: ThreadDep,
    before: int | None = Query(None, ge=1),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """The newest page of the conversation's messages in turn order (`before` pages back)."""
    log = thread.who.user.log
    rows = log.messages(thread.conversation.id, before=before, limit=limit)
    return {"messages": [message_with_question(m) for m in rows]}


@router.delete("/threads/{thread_id}", status_code=204)
async def forget_thread(thread: ThreadDep) -> Response:
    """Forget the conversation from the log and agent memory, for good."""
    log = thread.who.user.log
    await anyio.to_thread.run_sync(_forget, log, thread.conversation.id)
    return Response(status_code=204)


def _forget(log: Any, conversation_id: uuid.UUID) -> None:
    # The core's forget is async over blocking stores: a loop of its own, in a worker thread.
    import asyncio

    asyncio.run(log.forget([conversation_id]))


def chat_on(request: Request, thread_id: str) -> Any:
    """The caller's chat on their conversation `thread_id` (404 for any other): the token
    and the conversation checked in one worker thread (a hop each cost a turn's CPU)."""
    who = caller(request)
    try:
        return request.app.state.chats.take(who.user, uuid.UUID(_full_id(thread_id)))
    except NotFoundError:
        raise _no_thread(thread_id) from None


@router.post("/threads/{thread_id}/messages", response_class=EventSourceResponse)
async def post_message(request: Request, chat: Annotated[Any, Depends(chat_on)], body: NewMessage):
    """One turn, streamed: `saved`, `delta`…, then `done` or `error` (see the README)."""
    async for item in turn_events(chat, body.text, request.app.state.chats.give_back):
        yield item
