"""`POST /chatkit`: the ChatKit server protocol (`openai-chatkit`, extra `chatkit`) over the
same core: threads are conversations, items are messages of the log.

ChatKit has no authentication of its own: its `context` is our `Caller`, from the bearer
token. A thread named in a request is checked to be the caller's before anything runs (404
otherwise), since an error inside a stream could only cut a response already sent as 200.
Messages are written by the core's turn alone (saved before the model runs, the reply after
it, a partial one marked when the client leaves), so the store's item writes do nothing:
items streamed during a turn carry ids of their own, and `items.list` then gives the logged
ones, `msg_<id>` as the log numbers them. Attachments are not supported.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from anyio import to_thread
from chatkit.errors import CustomStreamError
from chatkit.server import ChatKitServer, StreamingResult
from chatkit.store import NotFoundError as NoSuchThing
from chatkit.store import Store
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageContentPartTextDelta,
    AssistantMessageItem,
    InferenceOptions,
    Page,
    ThreadItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
    UserMessageTextContent,
)
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from todochat.errors import NotFoundError
from todochat.server.auth import Caller, CallerDep
from todochat.server.chats import ChatPool
from todochat.server.errors import error_response
from todochat.server.stream import turn_events
from todochat.server.threads import owned_thread

router = APIRouter()
LISTED = 1000  # the most threads or items one ChatKit page is cut from


def item_id(message_id: int) -> str:
    return f"msg_{message_id}"


def message_id(ident: str) -> int:
    """The log's id of item `msg_<id>`; `NoSuchThing` for any other id."""
    digits = ident.removeprefix("msg_")
    if not ident.startswith("msg_") or not digits.isdigit():
        raise NoSuchThing(f"no item {ident}")
    return int(digits)


def thread_of(conversation: Any) -> ThreadMetadata:
    return ThreadMetadata(
        id=str(conversation.id),
        title=conversation.title or None,
        created_at=conversation.created_at,
    )


def item_of(message: Any, thread_id: str) -> ThreadItem:
    common = {"id": item_id(message.id), "thread_id": thread_id, "created_at": message.created_at}
    if message.role == "user":
        return UserMessageItem(
            **common,
            content=[UserMessageTextContent(text=message.content)],
            inference_options=InferenceOptions(),
        )
    return AssistantMessageItem(**common, content=[AssistantMessageContent(text=message.content)])


def page_after(rows: list, after: str | None, limit: int, key) -> Page:
    """`limit` rows following the one whose key is `after` (ChatKit's cursor)."""
    keys = [key(row) for row in rows]
    start = keys.index(after) + 1 if after in keys else 0
    chosen = rows[start : start + limit]
    more = start + limit < len(rows)
    return Page(data=chosen, has_more=more, after=key(chosen[-1]) if chosen and more else None)


class LogStore(Store[Caller]):
    """ChatKit's store as a view of the caller's log; every read runs in a worker thread."""

    def generate_thread_id(self, context: Caller) -> str:
        return str(uuid.uuid4())  # the conversation is created with it by `save_thread`

    async def load_thread(self, thread_id: str, context: Caller) -> ThreadMetadata:
        return thread_of(await to_thread.run_sync(_conversation, context, thread_id))

    async def save_thread(self, thread: ThreadMetadata, context: Caller) -> None:
        await to_thread.run_sync(_save_thread, context, thread)

    async def load_threads(self, limit: int, after: str | None, order: str, context: Caller):
        found = await to_thread.run_sync(context.user.log.conversations, LISTED)
        threads = [thread_of(c) for c in (found if order == "desc" else found[::-1])]
        return page_after(threads, after, limit, lambda t: t.id)

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: Caller
    ) -> Page[ThreadItem]:
        conversation = await to_thread.run_sync(_conversation, context, thread_id)
        rows = await to_thread.run_sync(context.user.log.messages, conversation.id, None, LISTED)
        items = [item_of(m, thread_id) for m in (rows if order == "asc" else rows[::-1])]
        return page_after(items, after, limit, lambda i: i.id)

    async def load_item(self, thread_id: str, item_id: str, context: Caller) -> ThreadItem:
        page = await self.load_thread_items(thread_id, None, LISTED, "asc", context)
        wanted = [i for i in page.data if i.id == item_id]
        if not wanted:
            raise NoSuchThing(f"no item {item_id}")
        return wanted[0]

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: Caller) -> None:
        """Nothing: the core's turn logs the question and the reply itself."""

    async def save_item(self, thread_id: str, item: ThreadItem, context: Caller) -> None:
        """Nothing: logged messages are not edited."""

    async def delete_thread(self, thread_id: str, context: Caller) -> None:
        conversation = await to_thread.run_sync(_conversation, context, thread_id)
        await to_thread.run_sync(_forget, context, conversation.id)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: Caller) -> None:
        raise CustomStreamError("messages are not deleted one by one here", allow_retry=False)

    async def save_attachment(self, attachment, context: Caller) -> None:
        raise NoSuchThing("attachments are not supported")

    async def load_attachment(self, attachment_id: str, context: Caller):
        raise NoSuchThing("attachments are not supported")

    async def delete_attachment(self, attachment_id: str, context: Caller) -> None:
        raise NoSuchThing("attachments are not supported")


def _conversation(caller: Caller, thread_id: str) -> Any:
    try:
        return owned_thread(thread_id, caller).conversation
    except HTTPException:  # the 404 of a route, here ChatKit's own not-found
        raise NoSuchThing(f"no thread {thread_id[:64]}") from None


def _save_thread(caller: Caller, thread: ThreadMetadata) -> None:
    log = caller.user.log
    try:
        found = log.get(uuid.UUID(thread.id))
    except NotFoundError:
        log.new_conversation(uuid.UUID(thread.id))
        return
    if thread.title and thread.title != found.title:
        log.rename(found.id, thread.title)


def _forget(caller: Caller, conversation_id: uuid.UUID) -> None:
    import asyncio

    asyncio.run(caller.user.log.forget([conversation_id]))


class TodoChatKit(ChatKitServer[Caller]):
    """Answers a user message with one turn of the core, streamed as ChatKit events."""

    def __init__(self, chats: ChatPool):
        super().__init__(LogStore())
        self.chats = chats  # the server's, shared with /threads

    async def respond(
        self, thread: ThreadMetadata, input_user_message: UserMessageItem | None, context: Caller
    ) -> AsyncIterator[ThreadStreamEvent]:
        if input_user_message is None:
            return
        text = " ".join(c.text for c in input_user_message.content if c.type == "input_text")
        pool = self.chats
        chat = await to_thread.run_sync(pool.take, context.user, uuid.UUID(thread.id))
        reply = AssistantMessageItem(
            id=self.store.generate_item_id("message", thread, context),
            thread_id=thread.id,
            created_at=datetime.now(UTC),
            content=[],
        )
        yield ThreadItemAddedEvent(item=reply)
        async for sent in turn_events(chat, text, pool.give_back):
            if sent.event == "delta":
                update = AssistantMessageContentPartTextDelta(
                    content_index=0, delta=sent.data["text"]
                )
                yield ThreadItemUpdatedEvent(item_id=reply.id, update=update)
            elif sent.event == "done":
                reply.content = [AssistantMessageContent(text=sent.data["text"])]
                yield ThreadItemDoneEvent(item=reply)
            elif sent.event == "error":
                raise CustomStreamError(sent.data["message"], allow_retry=True)
        thread.title = chat.known_title or thread.title  # the first message names it

    async def handle_stream_cancelled(self, thread, pending_items, context: Caller) -> None:
        """Nothing to add: the core kept the partial reply, marked, when the turn was cut."""


def mount(api) -> None:
    """`POST /chatkit` on `api`, sharing its chats."""
    api.state.chatkit = TodoChatKit(api.state.chats)
    api.include_router(router)


@router.post("/chatkit")
async def chatkit(request: Request, who: CallerDep) -> Response:
    """One ChatKit request: streamed events (`data: {json}`) or a JSON answer."""
    body = await request.body()
    named = _thread_named(body)
    if named is not None:
        await to_thread.run_sync(owned_thread, named, who)  # 404 before anything starts
    try:
        result = await request.app.state.chatkit.process(body, who)
    except ValidationError as exc:
        return error_response(422, f"not a ChatKit request: {exc.errors()[0]['msg']}")
    except NoSuchThing as exc:
        return error_response(404, str(exc))
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(result.json, media_type="application/json")


def _thread_named(body: bytes) -> str | None:
    try:
        params = json.loads(body).get("params") or {}
    except (ValueError, AttributeError):
        return None
    named = params.get("thread_id") if isinstance(params, dict) else None
    return named if isinstance(named, str) else None
