"""Case 12: `conversations` (the newest 20 with message counts) in the generated log, in
process, beside a bare query of the same rows, on both backends (p95 <= 50 ms and <= 3x the
bare query's)."""

from __future__ import annotations

from bench.logbench import Backend, alternate, backends, figures
from bench.report import Figure
from bench.workspace import Workspace

NUMBER = 12
TITLE = "log conversations"
LIMIT = 20

BARE = (
    "SELECT c.id, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)"
    " FROM conversations c WHERE c.user_id = ? ORDER BY c.updated_at DESC LIMIT ?"
)


def ours(backend: Backend, user_id):
    from todochat.db import open_database
    from todochat.log import conversations as conversation_queries

    database = open_database(backend.url)

    def call(_n: int) -> list[tuple]:
        with database.session() as session:
            rows = conversation_queries.list_conversations(session, user_id, LIMIT)
        return [(backend.uuid(r.id), r.messages) for r in rows]

    return call


def bare(backend: Backend, user_id):
    owner = backend.uuid(user_id)
    return lambda _n: backend.rows(BARE, owner, LIMIT)


def run(ws: Workspace) -> list[Figure]:
    log = ws.app_log()
    result = []
    with backends(ws) as all_backends:
        for backend in all_backends:
            mine, base = alternate(
                ours(backend, log.user_id), bare(backend, log.user_id), ws.scale.log_repeats
            )
            result += figures("conversations", backend.label, mine, base, 50.0, 3.0)
    return result
