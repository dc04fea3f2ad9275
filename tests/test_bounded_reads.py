"""Reads a user waits for are bounded by what they return: a memory rebuild reads only the
newest turns of a long conversation, history shows a page, tasks a page with the total."""

from __future__ import annotations

import asyncio

from todochat.chat.service import ChatService
from todochat.chat.turn_log import TurnLog
from todochat.db import messages as message_queries
from todochat.memory.turn import items_from_log, rebuild_window


def long_conversation(service: ChatService, turns: int) -> None:
    first = service.save_user_message("question 0")
    service.save_reply("answer 0", first.id)
    with service.database.session() as session:
        for n in range(1, turns):
            asked = message_queries.add_message(session, service.conversation_id, "user", f"q{n}")
            message_queries.add_message(
                session, service.conversation_id, "assistant", f"a{n}", asked.id
            )


def test_a_rebuild_reads_only_the_newest_turns(settings):
    service = ChatService(settings)
    long_conversation(service, 400)
    log = TurnLog(service.database, service.user_id, service.conversation_id, 0)
    max_items = 20
    _, window = log.earlier(rebuild_window(max_items))
    _, everything = log.earlier()
    assert len(everything) == 800 and len(window) == rebuild_window(max_items)
    assert [m.content for m in window] == [m.content for m in everything[-len(window) :]]
    assert items_from_log(window, max_items - 1) == items_from_log(everything, max_items - 1)


def test_memory_lost_is_rebuilt_from_the_newest_turns(settings):
    from todochat.memory.manager import SessionManager

    service = ChatService(settings)
    long_conversation(service, 300)
    asyncio.run(SessionManager.from_settings(settings).clear_session(service.session_id))
    asyncio.run(service.turn("what tasks do I have?"))
    items = asyncio.run(service.agent_session().get_items())
    said = [i.get("content") for i in items if isinstance(i.get("content"), str)]
    assert "q299" in said and "a299" in said and "q1" not in said
