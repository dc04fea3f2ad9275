"""Issue 19 through the real tools: "it" after a delete and after `/undo`, priorities, a
loosely matched title confirmed first, a compound request, destinations and questions."""

from __future__ import annotations

import asyncio

from app_state import open_chat, tasks_of

from todochat.turn import ChatService


def say(service: ChatService, text: str) -> str:
    return asyncio.run(service.turn(text)).reply.replace("*", "")


def titles(service: ChatService) -> dict[int, str]:
    return {t.number: t.title for t in tasks_of(service, "all")}


def test_it_never_means_a_deleted_task(settings):
    service = open_chat(settings)
    for text in ("call the plumber tomorrow", "buy a present for Sam", "delete it"):
        say(service, text)
    reply = say(service, "rename it to buy a gift for Sam")
    assert titles(service) == {1: "call the plumber"}
    assert "Which task" in reply and "Updated" not in reply


def test_undo_is_told_to_the_agents_memory_so_it_follows(settings):
    service = open_chat(settings)
    say(service, "buy milk")
    say(service, "call the plumber")
    say(service, "delete the milk")
    assert asyncio.run(service.undo()) == "Undone: deleted #1 buy milk"
    remembered = asyncio.run(service.agent_session().get_items())
    assert remembered[-1]["content"] == "Undone: deleted #1 buy milk"
    assert "#1 buy oat milk" in say(service, "rename it to buy oat milk")
    assert titles(service) == {1: "buy oat milk", 2: "call the plumber"}


def test_it_after_an_undone_add_asks(settings):
    service = open_chat(settings)
    say(service, "call the plumber")
    say(service, "buy milk")
    asyncio.run(service.undo())
    reply = say(service, "delete it")
    assert "Which task" in reply and titles(service) == {1: "call the plumber"}


def test_priorities(settings):
    service = open_chat(settings)
    for text in ("renew passport", "call the plumber", "wash the dishes"):
        say(service, text)
    say(service, "make the passport one high priority")
    say(service, "make the plumber urgent")
    say(service, "low priority for the dishes")
    assert {t.number: t.priority for t in tasks_of(service)} == {1: "high", 2: "high", 3: "low"}
    say(service, "no priority for the plumber")
    assert {t.number: t.priority for t in tasks_of(service)}[2] in (None, "normal")
    assert titles(service) == {1: "renew passport", 2: "call the plumber", 3: "wash the dishes"}


def test_a_title_matched_through_a_typo_is_confirmed_before_it_changes(settings):
    service = open_chat(settings)
    say(service, "buy bananas")
    say(service, "wash the dishes")
    reply = say(service, "delete the bananna")
    assert reply.startswith("Do you mean #1 buy bananas?") and len(titles(service)) == 2
    assert "Deleted #1 buy bananas" in say(service, "yes")
    assert titles(service) == {2: "wash the dishes"}


def test_a_destination_is_never_a_task(settings):
    service = open_chat(settings)
    say(service, "wash the dishes")
    say(service, "add a book title to the wish list")
    say(service, "put the dishes on my list of things to do")
    say(service, "add bread to my shopping list")
    assert titles(service) == {1: "wash the dishes", 2: "the dishes", 3: "bread"}


def test_remove_and_add_in_one_message(settings):
    service = open_chat(settings)
    say(service, "add milk to my shopping list")
    reply = say(service, "i want to remove milk from my shopping list and add bread")
    assert "Deleted #1 milk" in reply and "Added #2 bread" in reply
    assert titles(service) == {2: "bread"}


def test_questions_and_bulk_requests_change_nothing(settings):
    service = open_chat(settings)
    say(service, "add milk to my shopping list")
    for text in (
        "i need to hear what's on my shopping list",
        "go over my shopping list with me",
        "please read my reminders",
        "is milk on my list?",
        "did I add eggs?",
        "what are my todos",
        "take everything off my todo list",
        "clear my list",
    ):
        say(service, text)
    assert titles(service) == {1: "milk"}
    assert "#1 milk" in say(service, "what are my tasks?")


def test_reminders_are_tasks_with_their_due_date(settings):
    service = open_chat(settings)
    say(service, "set a reminder to call lisa for her birthday")
    say(service, "remind me tomorrow at 3pm i have a doctor's appointment")
    tasks = {t.title: t for t in tasks_of(service)}
    assert set(tasks) == {"call lisa for her birthday", "doctor's appointment"}
    assert tasks["doctor's appointment"].due_at is not None
