"""The turn service end to end with the offline model, on both app-database backends."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from app_state import history_of, open_chat, tasks_of

from todochat.agent.session import get_agent_session, get_session_id
from todochat.db import open_database
from todochat.errors import ModelError
from todochat.tasks import queries as task_queries


def run(coro):
    return asyncio.run(coro)


def test_seed_scenario_updates_the_groceries_task(settings):
    service = open_chat(settings)
    first = run(service.turn("create a task to buy groceries"))
    second = run(service.turn("add milk to that task"))

    assert "#1 buy groceries" in first.reply
    assert "milk" in second.reply
    [task] = tasks_of(service, "all")
    assert (task.number, task.title, task.notes) == (1, "buy groceries", "milk")


def test_seed_scenario_survives_a_restart(settings):
    service = open_chat(settings)
    run(service.turn("create a task to buy groceries"))
    conversation = service.conversation_id
    service.close()

    restarted = open_chat(settings)
    restarted.resume(conversation.hex[:8])
    run(restarted.turn("add milk to that task"))
    assert [t.notes for t in tasks_of(restarted)] == ["milk"]


def test_user_message_is_logged_before_the_model_runs(settings):
    from agents.testing import ModelStep, ScriptedModel

    service = open_chat(settings)
    logged_when_the_model_ran = []

    def responder(call):
        logged_when_the_model_ran.extend(m.content for m in history_of(service))
        return ModelStep.raise_error(ConnectionError("network down"))

    service._model = ScriptedModel([ModelStep.respond(responder)])
    with pytest.raises(ModelError):
        run(service.turn("remind me to pay rent"))
    assert logged_when_the_model_ran == ["remind me to pay rent"]
    assert [m.role for m in history_of(service)] == ["user"]


def test_streaming_delivers_the_whole_reply(settings):
    service = open_chat(settings)
    deltas = []
    result = run(service.turn("create a task to buy groceries", deltas.append))
    assert len(deltas) > 1
    assert "".join(deltas) == result.reply


def test_conversation_title_comes_from_first_message(settings):
    service = open_chat(settings)
    run(service.turn("create a task to buy groceries"))
    run(service.turn("what tasks do I have?"))
    assert service.user.log.get(service.conversation_id).title == "create a task to buy groceries"


def test_memory_is_pruned_to_whole_turns(env, monkeypatch):
    monkeypatch.setenv("AGENT_SESSION_MAX_MESSAGES", "6")
    from todochat.config import load_settings

    settings = load_settings()
    service = open_chat(settings)
    for i in range(5):
        run(service.turn(f"create a task to item {i}"))  # 4 items a turn: user, call, output, reply
    items = run(service.agent_session().get_items(limit=100))
    assert len(items) <= 6
    assert items[0]["role"] == "user"
    call_ids = {i["call_id"] for i in items if i.get("type") == "function_call"}
    outputs = {i["call_id"] for i in items if i.get("type") == "function_call_output"}
    assert outputs <= call_ids


def test_another_users_task_number_cannot_be_touched(settings):
    alice = open_chat(settings, user="alice")
    run(alice.turn("create a task to buy groceries"))
    bob = open_chat(settings, user="bob")
    reply = run(bob.turn("delete task 1"))
    assert "no task #1" in reply.reply.lower()
    run(bob.turn("mark 1 as done"))
    assert [(t.title, t.done) for t in tasks_of(alice, "all")] == [("buy groceries", False)]
    assert tasks_of(bob, "all") == []


def test_spec_session_id_format():
    user_id, conv_id = uuid.uuid4(), uuid.uuid4()
    session_id = get_session_id(user_id, conv_id)
    assert session_id == f"user_{user_id}_conv_{conv_id}"


def test_spec_session_persists_across_restart(tmp_path, settings):
    """The spec's test, as written there: no context, a fresh session object after a restart."""
    from agents import Runner

    from todochat.agent.todo_agent import todo_agent

    db_path = tmp_path / "test_sessions.db"
    user_id, conv_id = uuid.uuid4(), uuid.uuid4()
    session1 = get_agent_session(user_id, conv_id, db_path=str(db_path))
    run(Runner.run(todo_agent, "Test message", session=session1))
    session1.close()

    session2 = get_agent_session(user_id, conv_id, db_path=str(db_path))
    items = run(session2.get_items())
    assert items[0]["content"] == "Test message"
    assert items[-1]["role"] == "assistant"


def test_spec_sessions_are_isolated_between_users(tmp_path, settings):
    """User 2 sees neither user 1's memory nor, through the tools, user 1's tasks."""
    from agents import Runner

    from todochat.agent.todo_agent import todo_agent

    db_path = str(tmp_path / "s.db")
    user1 = open_chat(settings, user="one").user_id
    user2 = open_chat(settings, user="two").user_id
    conv_id = uuid.uuid4()
    session1 = get_agent_session(user1, conv_id, db_path=db_path)
    run(
        Runner.run(
            todo_agent,
            "create a task to secret plan",
            session=session1,
            context={"user_id": str(user1)},
        )
    )
    session2 = get_agent_session(user2, conv_id, db_path=db_path)
    assert run(session2.get_items()) == []
    listing = run(
        Runner.run(
            todo_agent, "show all my tasks", session=session2, context={"user_id": str(user2)}
        )
    )
    assert "secret" not in listing.final_output
    renamed = run(
        Runner.run(
            todo_agent, "rename task 1 to stolen", session=session2, context={"user_id": str(user2)}
        )
    )
    assert "no task #1" in renamed.final_output.lower()
    with open_database(settings.database_url).session() as session:
        assert [t.title for t in task_queries.list_tasks(session, user1)] == ["secret plan"]


def test_memory_file_is_private(settings):
    import os
    import stat

    service = open_chat(settings)
    run(service.turn("hello"))
    mode = stat.S_IMODE(os.stat(settings.agent_session_db_path).st_mode)
    assert mode == 0o600


@pytest.mark.parametrize("message", ["mark 7 as done", "reopen task 9", "delete task 3"])
def test_unknown_task_numbers_are_reported_not_raised(settings, message):
    service = open_chat(settings)
    result = run(service.turn(message))
    assert "no task #" in result.reply.lower()


def test_task_numbers_are_per_user(settings):
    database = open_database(settings.database_url)
    a = open_chat(settings, user="a")
    b = open_chat(settings, user="b")
    run(a.turn("create a task to one"))
    run(b.turn("create a task to other"))
    with database.session() as session:
        assert [t.number for t in task_queries.list_tasks(session, b.user_id)] == [1]


def test_stats_count_in_memory_sessions(env, monkeypatch):
    monkeypatch.setenv("AGENT_SESSION_DB_PATH", ":memory:")
    from todochat.config import load_settings

    service = open_chat(load_settings())
    run(service.turn("create a task to buy groceries"))
    assert run(service.memory_stats())["message_count"] == 4
    # Within one process, memory still carries "that task" from turn to turn.
    run(service.turn("add milk to that task"))
    assert [t.notes for t in tasks_of(service)] == ["milk"]


def test_the_reply_is_saved_without_a_second_lookup_yet_a_deleted_conversation_is_not_found(
    settings,
):
    from sqlalchemy import delete

    from todochat.db.models import Conversation, Message
    from todochat.errors import NotFoundError

    service = open_chat(settings)
    service.save_user_message("hello")
    service.save_reply("hi there")
    with service.database.session() as session:
        logged = session.query(Message).filter_by(conversation_id=service.conversation_id)
        assert [m.role for m in logged.order_by(Message.id)] == ["user", "assistant"]
        assert session.get(Conversation, service.conversation_id).title == "hello"
    service.save_user_message("again")
    with service.database.session() as session:
        session.execute(delete(Message).where(Message.conversation_id == service.conversation_id))
        session.execute(delete(Conversation).where(Conversation.id == service.conversation_id))
    with pytest.raises(NotFoundError):
        service.save_reply("lost")
    service.close()


def test_a_display_that_fails_loses_no_reply(settings, env):
    """The terminal or pipe failing mid-reply (an on_delta that raises) is one warning: the
    turn runs to its end and its reply is logged (it was a model error, the reply lost)."""
    from app_state import conversation_log

    notices: list[str] = []
    service = open_chat(settings, notice=notices.append)

    def broken_screen(delta: str) -> None:
        raise OSError(5, "Input/output error")

    result = run(service.turn("create a task to buy groceries", broken_screen))
    service.close()
    assert result.reply == "Added **#1 buy groceries**."
    assert conversation_log(env["DATABASE_URL"]) == [
        [("user", "create a task to buy groceries"), ("assistant", result.reply)]
    ]
    assert notices == [
        "Warning: the reply cannot be shown ([Errno 5] Input/output error); it is saved in the log."
    ]
