"""Case 16: rebuilding agent memory from the log of the long conversation (5,000 messages at
full scale): reading the newest messages the item limit can use and turning them into items,
beside a bare query of the same rows, on both backends."""

from __future__ import annotations

from bench.logbench import Backend, alternate, backends, figures
from bench.report import Figure
from bench.workspace import Workspace

NUMBER = 16
TITLE = "rebuild from the log"
BARE = (
    "SELECT id, role, content FROM messages WHERE conversation_id = ?"
    " ORDER BY created_at DESC, id DESC LIMIT ?"
)


def ours(backend: Backend, user_id, conversation_id, limit: int):
    from todochat.db import open_database
    from todochat.log.memory_feed import TurnLog
    from todochat.memory.turn import items_from_log, rebuild_window

    log = TurnLog(open_database(backend.url), user_id, conversation_id, 0)

    def call(_n: int) -> list[tuple]:
        _, messages = log.earlier(rebuild_window(limit))
        items_from_log(messages, limit - 1)
        return [(m.id, m.role, m.content) for m in messages]

    return call


def bare(backend: Backend, conversation_id, limit: int):
    from todochat.memory.turn import rebuild_window

    key, window = backend.uuid(conversation_id), rebuild_window(limit)
    return lambda _n: list(reversed(backend.rows(BARE, key, window)))


def run(ws: Workspace) -> list[Figure]:
    log = ws.app_log()
    limit = ws.scale.memory_limit
    result = [
        Figure("messages in the conversation", ws.scale.long_conversation, "count"),
        Figure("memory item limit", limit, "count"),
    ]
    with backends(ws) as all_backends:
        for backend in all_backends:
            mine, base = alternate(
                ours(backend, log.user_id, log.long_conversation, limit),
                bare(backend, log.long_conversation, limit),
                ws.scale.log_repeats,
            )
            result += figures("rebuild", backend.label, mine, base, 20.0)
    return result
