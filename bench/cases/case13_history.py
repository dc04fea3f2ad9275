"""Case 13: `history` of the long conversation (5,000 messages at full scale), in process,
beside a bare query of the same rows: the page the command shows by default (the newest 100
with the count of the rest and their changes: p95 <= 50 ms), and every message (`--all`)."""

from __future__ import annotations

from bench.logbench import Backend, alternate, backends, bench_user, figures
from bench.report import Figure
from bench.workspace import Workspace

NUMBER = 13
TITLE = "log history"

BARE = "SELECT id, role, content FROM messages WHERE conversation_id = ? ORDER BY created_at, id"
BARE_PAGE = (
    "SELECT id, role, content FROM messages WHERE conversation_id = ?"
    " ORDER BY created_at DESC, id DESC LIMIT ?"
)
BARE_COUNT = "SELECT count(*) FROM messages WHERE conversation_id = ?"


def ours(backend: Backend, conversation_id):
    from todochat.log import messages as message_queries

    log = bench_user(backend).log
    database = log.database

    def call(_n: int) -> list[tuple]:
        found = log.conversation(conversation_id.hex[:8])
        with database.session() as session:
            messages = message_queries.list_messages(session, found.id)
        return [(m.id, m.role, m.content) for m in messages]

    return call


def bare(backend: Backend, conversation_id):
    key = backend.uuid(conversation_id)
    return lambda _n: backend.rows(BARE, key)


def ours_page(backend: Backend, conversation_id):
    """What `todochat history ID` reads: the conversation by short id, then its page."""
    from todochat.cli.conversations import HISTORY_PAGE

    log = bench_user(backend).log

    def call(_n: int) -> tuple[list[tuple], int]:
        found = log.conversation(conversation_id.hex[:8])
        page = log.page(found.id, None, HISTORY_PAGE)
        return sorted((m.id, m.role, m.content) for m in page.messages), page.hidden

    return call


def bare_page(backend: Backend, conversation_id):
    from todochat.cli.conversations import HISTORY_PAGE

    key = backend.uuid(conversation_id)

    def call(_n: int) -> tuple[list[tuple], int]:
        rows = sorted(backend.rows(BARE_PAGE, key, HISTORY_PAGE))
        [(count,)] = backend.rows(BARE_COUNT, key)
        return rows, count - len(rows)

    return call


def run(ws: Workspace) -> list[Figure]:
    log = ws.app_log()
    result = [Figure("messages in the conversation", ws.scale.long_conversation, "count")]
    with backends(ws) as all_backends:
        for backend in all_backends:
            mine, base = alternate(
                ours_page(backend, log.long_conversation),
                bare_page(backend, log.long_conversation),
                ws.scale.log_repeats,
            )
            result += figures("history page", backend.label, mine, base, 50.0)
            mine, base = alternate(
                ours(backend, log.long_conversation),
                bare(backend, log.long_conversation),
                ws.scale.log_repeats,
            )
            result += figures("history --all", backend.label, mine, base, 100.0)
    return result
