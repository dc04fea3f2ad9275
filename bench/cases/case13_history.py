"""Case 11: `history` of the long conversation (5,000 messages at full scale): finding it by
short id and reading its messages, in process, beside a bare query of the same rows."""

from __future__ import annotations

from bench.logbench import Backend, alternate, backends, figures
from bench.report import Figure
from bench.workspace import Workspace

NUMBER = 13
TITLE = "log history"

BARE = "SELECT id, role, content FROM messages WHERE conversation_id = ? ORDER BY created_at, id"


def ours(backend: Backend, conversation_id):
    from todochat import lookup
    from todochat.db import messages as message_queries
    from todochat.db import open_database

    database = open_database(backend.url)

    def call(_n: int) -> list[tuple]:
        found = lookup.conversation(backend.url, "bench", conversation_id.hex[:8])
        with database.session() as session:
            messages = message_queries.list_messages(session, found.id)
        return [(m.id, m.role, m.content) for m in messages]

    return call


def bare(backend: Backend, conversation_id):
    key = backend.uuid(conversation_id)
    return lambda _n: backend.rows(BARE, key)


def run(ws: Workspace) -> list[Figure]:
    log = ws.app_log()
    result = [Figure("messages in the conversation", ws.scale.long_conversation, "count")]
    with backends(ws) as all_backends:
        for backend in all_backends:
            mine, base = alternate(
                ours(backend, log.long_conversation),
                bare(backend, log.long_conversation),
                ws.scale.log_repeats,
            )
            result += figures("history", backend.label, mine, base, 100.0)
    return result
