"""One turn as server-sent events: `saved`, `delta`…, then exactly one of `done` or `error`.

The turn runs as a task of its own and hands its events to the response through a queue.
A client that goes away mid-reply cancels the response; the turn is then cancelled the way
Ctrl-C cancels it in the REPL (the core keeps the partial reply, marked, and frees the
conversation's lock), and runs that ending to its close even though nobody reads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.sse import ServerSentEvent

from todochat.errors import TodochatError
from todochat.server.errors import log, redacted

END = object()
# Turns whose client went away, finishing their cancellation: kept referenced so they are
# not collected, and awaited when the server stops.
ORPHANS: set[asyncio.Task] = set()


def event(name: str, **data: Any) -> ServerSentEvent:
    return ServerSentEvent(event=name, data=data)


async def turn_events(
    chat: Any, text: str, release: Callable[[Any], None]
) -> AsyncIterator[ServerSentEvent]:
    """Run `chat.turn(text)` and yield its events as they happen; `release(chat)` once the
    turn has ended (after its cancellation too). Deltas that arrived while the last event
    was being sent go out as one: the client gets the same text in fewer, larger events."""
    queue: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(_run(chat, text, queue, release))
    try:
        ahead = None
        while (item := ahead or await queue.get()) is not END:
            ahead = None
            if item[0] == "delta":
                item, ahead = _joined(item, queue)
            yield event(item[0], **item[1])
    finally:
        if not task.done():  # the client went away: Ctrl-C for this turn
            task.cancel()
            ORPHANS.add(task)
            task.add_done_callback(ORPHANS.discard)


def _joined(delta: tuple, queue: asyncio.Queue) -> tuple[tuple, Any]:
    """`delta` with the deltas queued behind it, and the first other item taken (or None)."""
    parts = [delta[1]["text"]]
    while not queue.empty():
        item = queue.get_nowait()
        if item is END or item[0] != "delta":
            return ("delta", {"text": "".join(parts)}), item
        parts.append(item[1]["text"])
    return ("delta", {"text": "".join(parts)}), None


async def _run(chat: Any, text: str, queue: asyncio.Queue, release) -> None:
    put = queue.put_nowait
    try:
        result = await chat.turn(
            text,
            on_delta=lambda delta: put(("delta", {"text": delta})),
            on_saved=lambda message: put(("saved", {"message_id": message.id})),
        )
        put(await _ending(chat, result))
    except TodochatError as exc:  # a model or store failure, after `saved` when it was
        put(("error", {"message": redacted(str(exc))}))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug: still one line for the client, and one in the log
        log.error("turn failed: %s: %s", type(exc).__name__, redacted(str(exc)))
        put(("error", {"message": "internal error (the server log says more)"}))
    finally:
        put(END)
        release(chat)


async def _ending(chat: Any, result: Any) -> tuple[str, dict]:
    """`done`, with the changes the turn made to tasks as history shows them."""
    tasks = chat.user.tasks
    changes = await asyncio.to_thread(tasks.turn_changes, chat.conversation_id, result.message_id)
    return "done", {"reply_id": result.reply_id, "text": result.reply, "changes": changes}


async def finish_orphans(timeout: float = 10.0) -> None:
    """At shutdown: let cancelled turns save their partial replies and free their locks."""
    if ORPHANS:
        await asyncio.wait(set(ORPHANS), timeout=timeout)
