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


def lists_of(service: ChatService) -> dict[int, str | None]:
    return {t.number: t.list_name for t in tasks_of(service, "all")}


def test_the_list_is_the_default_list_never_one_called_the(settings):
    """Round 2: "on the list" named a list "the"; "my to do list" a list "do"."""
    service = open_chat(settings)
    say(service, "put milk and bread on the list")
    say(service, "add peanut butter to the list")
    say(service, "shopping list add cheese")
    assert titles(service) == {1: "milk", 2: "bread", 3: "peanut butter", 4: "cheese"}
    assert lists_of(service) == {1: None, 2: None, 3: None, 4: "shopping"}
    assert "#3 peanut butter" in say(service, "give me my to do list")


def test_what_a_phone_or_speaker_does_is_never_a_task(settings):
    """Alarms, timers, calls by number, messages with their words, the inbox: help, no task."""
    service = open_chat(settings)
    say(service, "call mom")
    for text in (
        "start a 10 minute timer",
        "cancel my alarm",
        "alexa set an alarm for 7",
        "text john i'm running late",
        "read my emails",
        "check my email",
        "call 911",
        "facetime my sister",
        "skip this song",
        "call mom",  # the task's own title again: asked about, not added twice
    ):
        say(service, text)
    assert titles(service) == {1: "call mom"}


def test_dictation_words_are_never_in_a_title(settings):
    service = open_chat(settings)
    say(service, "um add uh coffee")
    say(service, "remind me next tuesday that the library books are due")
    reply = say(service, "add apples oranges and grapes to my shopping list")
    assert "one item or several" in reply
    assert titles(service) == {1: "coffee", 2: "the library books are due"}


def test_a_place_on_the_list_that_names_nothing_is_never_a_new_task(settings):
    service = open_chat(settings)
    say(service, "buy milk")
    service.new_conversation()
    reply = say(service, "get rid of the last item")
    say(service, "create a reminder called dentist")
    assert "Added" not in reply and titles(service) == {1: "buy milk", 2: "dentist"}


def test_lists_of_several_words_and_services_ordered_now(settings):
    service = open_chat(settings)
    say(service, "add the movie inception to my movies to watch list")
    say(service, "remind me of my meeting tomorrow")
    for text in ("new list chores", "create a playlist called road trip", "order an uber"):
        assert "Added" not in say(service, text)
    assert titles(service) == {1: "the movie inception", 2: "my meeting"}
    assert lists_of(service) == {1: "movies to watch", 2: None}


def test_several_tasks_each_named_exactly_are_each_deleted(settings):
    service = open_chat(settings)
    for text in ("buy milk", "buy eggs", "buy bread"):
        say(service, text)
    reply = say(service, "delete milk and chocolate")  # one of them is no task: nothing changes
    assert "Deleted" not in reply and len(titles(service)) == 3
    reply = say(service, "remove milk and eggs from my shopping list")
    assert "#1 buy milk" in reply and "#2 buy eggs" in reply
    assert titles(service) == {3: "buy bread"}


def test_rambling_requests_keep_only_the_request(settings):
    """A reason before "so", an event said as a statement, a second clause that asks."""
    service = open_chat(settings)
    say(service, "we are going camping next week so add tent and sleeping bags to my list")
    say(service, "i have a doctor's appointment on tuesday at 3pm")
    say(service, "i think we're low on paper towels")
    reply = say(service, "so i need to go to the store later and i need to get milk")
    assert "Added" not in reply
    assert titles(service) == {
        1: "tent",
        2: "sleeping bags",
        3: "doctor's appointment",
        4: "paper towels",
    }
    assert {t.number: t for t in tasks_of(service)}[3].due_at is not None
    assert "#4 paper towels" in say(service, "is there anything on my to do list")


def test_list_words_around_an_item_stay_out_of_its_title(settings):
    service = open_chat(settings)
    say(service, "buy eggs")
    for text in (
        "add a todo item: fix the gate",
        "make sure bread is on the list",
        "soap needs to go on the shopping list",
        "i've got to remember to pay the water bill",
        "add to list: stamps",
    ):
        say(service, text)
    assert "Updated" not in say(service, "move eggs to the top of the list")
    assert titles(service) == {
        1: "buy eggs",
        2: "fix the gate",
        3: "bread",
        4: "soap",
        5: "pay the water bill",
        6: "stamps",
    }
    assert lists_of(service)[4] == "shopping"


def test_a_message_with_its_words_or_an_app_is_never_a_task(settings):
    service = open_chat(settings)
    for text in (
        "text my wife that i'm on my way",
        "open youtube",
        "how's it going",
        "check the weather",
        "check the traffic",
        "news",
    ):
        assert "Added" not in say(service, text)
    assert titles(service) == {}
