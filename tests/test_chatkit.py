"""`POST /chatkit`: the ChatKit server protocol over HTTP (the official web component loads
from OpenAI's CDN and cannot run here; these requests are what it sends). Threads are our
conversations and items our messages: a turn through ChatKit is in the log and the tasks."""

from __future__ import annotations

import json

import pytest
from http_server import Server, make_token, post_message

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)


def user_input(text: str) -> dict:
    return {
        "content": [{"type": "input_text", "text": text}],
        "attachments": [],
        "inference_options": {},
    }


def chatkit_stream(client, kind: str, **params) -> list[dict]:
    body = {"type": kind, "params": params}
    with client.stream("POST", "/chatkit", json=body) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        return [json.loads(line[6:]) for line in answer.iter_lines() if line.startswith("data: ")]


def chatkit_json(client, kind: str, **params):
    return client.post("/chatkit", json={"type": kind, "params": params})


@pytest.fixture
def server(env, tmp_path):
    with Server(env, log=tmp_path / "server.log") as running:
        yield running


def test_a_chatkit_thread_is_a_conversation_of_the_log(env, server):
    alice = server.client(make_token(env))
    events = chatkit_stream(alice, "threads.create", input=user_input("buy milk"))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "thread.created" and "thread.item.updated" in kinds
    thread_id = events[0]["thread"]["id"]
    done = [e["item"] for e in events if e["type"] == "thread.item.done"]
    assert [i["type"] for i in done] == ["user_message", "assistant_message"]
    reply = done[-1]["content"][0]["text"]
    deltas = [e["update"]["delta"] for e in events if e["type"] == "thread.item.updated"]
    assert "".join(deltas) == reply and "buy milk" in reply
    assert events[-1]["type"] == "thread.updated" and events[-1]["thread"]["title"] == "buy milk"
    # The same conversation, seen through the plain API and the task list.
    logged = alice.get(f"/threads/{thread_id}/messages").json()["messages"]
    assert [(m["role"], m["content"]) for m in logged] == [
        ("user", "buy milk"),
        ("assistant", reply),
    ]
    assert [t["title"] for t in alice.get("/tasks").json()["tasks"]] == ["buy milk"]
    # A second message, then the items and threads as ChatKit lists them.
    more = chatkit_stream(
        alice, "threads.add_user_message", thread_id=thread_id, input=user_input("call mom")
    )
    assert more[-1]["type"] in ("thread.item.done", "thread.updated")
    items = chatkit_json(alice, "items.list", thread_id=thread_id, order="asc").json()
    assert [i["id"] for i in items["data"]] == [f"msg_{m['id']}" for m in logged] + [
        f"msg_{logged[-1]['id'] + 1}",
        f"msg_{logged[-1]['id'] + 2}",
    ]
    assert items["data"][2]["content"][0]["text"] == "call mom"
    threads = chatkit_json(alice, "threads.list").json()
    assert [t["id"] for t in threads["data"]] == [thread_id]
    got = chatkit_json(alice, "threads.get_by_id", thread_id=thread_id).json()
    assert got["title"] == "buy milk" and len(got["items"]["data"]) == 4
    # The plain API's turns show in ChatKit's listing too.
    post_message(alice, thread_id, "what tasks do I have?")
    listed = chatkit_json(alice, "items.list", thread_id=thread_id, order="desc", limit=2).json()
    assert listed["data"][1]["content"][0]["text"] == "what tasks do I have?"
    assert listed["has_more"] is True
    assert chatkit_json(alice, "threads.delete", thread_id=thread_id).status_code == 200
    assert alice.get(f"/threads/{thread_id}/messages").status_code == 404


@SQLITE_ONLY
def test_chatkit_answers_only_the_tokens_user_and_their_threads(env, server):
    alice = server.client(make_token(env, "alice"))
    bob = server.client(make_token(env, "bob"))
    events = chatkit_stream(alice, "threads.create", input=user_input("buy milk"))
    thread_id = events[0]["thread"]["id"]
    assert (
        server.client().post("/chatkit", json={"type": "threads.list", "params": {}}).status_code
        == 401
    )
    for kind, params in (
        ("items.list", {"thread_id": thread_id}),
        ("threads.get_by_id", {"thread_id": thread_id}),
        ("threads.delete", {"thread_id": thread_id}),
        ("threads.add_user_message", {"thread_id": thread_id, "input": user_input("hi")}),
    ):
        answer = chatkit_json(bob, kind, **params)
        assert answer.status_code == 404, kind
        assert answer.json() == {"error": f"no thread {thread_id}"}
    assert chatkit_json(bob, "threads.list").json()["data"] == []
    assert len(alice.get(f"/threads/{thread_id}/messages").json()["messages"]) == 2
    bad = bob.post("/chatkit", json={"type": "threads.nonsense", "params": {}})
    assert bad.status_code == 422 and list(bad.json()) == ["error"]


@SQLITE_ONLY
def test_a_chatkit_client_leaving_mid_reply_is_ctrl_c_too(env, tmp_path):
    from test_server import model_env, slow_model, wait_for

    from todochat.turn import CANCELLED_MARK

    with slow_model() as model, Server(env, log=tmp_path / "s.log", **model_env(model)) as server:
        alice = server.client(make_token(env))
        body = {"type": "threads.create", "params": {"input": user_input("count")}}
        thread_id, deltas = None, 0
        with alice.stream("POST", "/chatkit", json=body) as answer:
            for line in answer.iter_lines():
                event = json.loads(line[6:]) if line.startswith("data: ") else {}
                thread_id = thread_id or event.get("thread", {}).get("id")
                deltas += event.get("type") == "thread.item.updated"
                if deltas == 3:
                    break
        url = f"/threads/{thread_id}/messages"
        logged = wait_for(lambda: (m := alice.get(url).json()["messages"]) and len(m) == 2 and m)
        assert logged[1]["content"].startswith("Counting: word0")
        assert logged[1]["content"].endswith(CANCELLED_MARK)
        again = chatkit_stream(
            alice, "threads.add_user_message", thread_id=thread_id, input=user_input("next")
        )
        done = [e["item"] for e in again if e["type"] == "thread.item.done"]
        assert done[-1]["content"][0]["text"] == "Next."
