"""`todochat serve` over real HTTP on loopback: the contract, who may do what, the limits,
and the faults (a client leaving mid-reply, two posts to one thread, a failing model, a
database restarting or busy). Each test runs the real server in a subprocess."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from http_server import Server, make_token, new_thread, post_message, sse_events

from todochat.app import App
from todochat.config import load_settings

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
POSTGRES_ONLY = pytest.mark.parametrize("app_db_url", ["postgresql"], indirect=True)


@pytest.fixture
def server(env, tmp_path):
    with Server(env, log=tmp_path / "server.log") as running:
        yield running


def names(events):
    return [name for name, _ in events]


def test_a_turn_streams_saved_deltas_done_and_the_log_and_tasks_follow(env, server):
    alice = server.client(make_token(env))
    made = alice.post("/threads")
    assert made.status_code == 201 and set(made.json()) >= {"id", "title"}
    thread = made.json()["id"]
    events = post_message(alice, thread, "buy milk")
    assert names(events)[0] == "saved" and names(events)[-1] == "done"
    assert set(names(events)[1:-1]) == {"delta"}
    saved, done = events[0][1], events[-1][1]
    streamed = "".join(data["text"] for name, data in events if name == "delta")
    assert done["text"] == streamed and "buy milk" in streamed
    assert done["changes"] == ["added #1 buy milk"]
    shown = alice.get(f"/threads/{thread}/messages").json()["messages"]
    assert [(m["id"], m["role"], m["content"], m["reply_to"]) for m in shown] == [
        (saved["message_id"], "user", "buy milk", None),
        (done["reply_id"], "assistant", streamed, saved["message_id"]),
    ]
    assert all(m["created_at"].endswith("Z") for m in shown)
    earlier = alice.get(f"/threads/{thread}/messages", params={"before": done["reply_id"]})
    assert [m["id"] for m in earlier.json()["messages"]] == [saved["message_id"]]
    tasks = alice.get("/tasks").json()
    assert [(t["number"], t["title"], t["done"]) for t in tasks["tasks"]] == [(1, "buy milk", False)]
    assert alice.get("/tasks", params={"status": "done"}).json()["tasks"] == []
    listed = alice.get("/threads").json()["threads"]
    assert [(t["id"], t["title"]) for t in listed] == [(thread, "buy milk")]


def test_threads_newest_first_undo_and_delete_forgets_log_and_memory(env, server):
    alice = server.client(make_token(env))
    first, second = new_thread(alice), new_thread(alice)
    post_message(alice, first, "buy milk")
    post_message(alice, second, "call mom")
    assert [t["id"] for t in alice.get("/threads").json()["threads"]] == [second, first]
    undone = alice.post("/tasks/undo", json={"thread_id": first})
    assert undone.status_code == 200 and "buy milk" in undone.json()["undone"]
    again = alice.post("/tasks/undo", json={"thread_id": first})
    assert again.status_code == 404 and "nothing left to undo" in again.json()["error"]
    assert alice.delete(f"/threads/{first}").status_code == 204
    assert alice.get(f"/threads/{first}/messages").status_code == 404
    assert [t["id"] for t in alice.get("/threads").json()["threads"]] == [second]
    remembered = asyncio.run(App(load_settings(env)).user("alice").memory.list())
    assert [row["conversation"] for row in remembered] == [second[:8]]


def test_no_bad_or_revoked_token_is_401_with_a_bearer_challenge(env, server):
    token = make_token(env)
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer tdc_nope"}):
        answer = server.client().get("/threads", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"] == "Bearer"
        assert list(answer.json()) == ["error"]
    assert server.client(token).get("/threads").status_code == 200
    tokens = App(load_settings(env)).tokens
    tokens.revoke(tokens.list("alice")[0].id)
    assert server.client(token).get("/threads").status_code == 401
    assert server.client().get("/healthz").json() == {"status": "ok"}


def test_another_users_thread_is_404_exactly_as_one_that_does_not_exist(env, server):
    alice = server.client(make_token(env, "alice"))
    bob = server.client(make_token(env, "bob"))
    thread = new_thread(alice)
    post_message(alice, thread, "buy milk")
    nobody = "00000000-0000-4000-8000-000000000000"
    for ident in (thread, nobody):
        other = thread if ident == nobody else nobody
        for method, path, body in (
            ("GET", f"/threads/{ident}/messages", None),
            ("POST", f"/threads/{ident}/messages", {"text": "hi"}),
            ("DELETE", f"/threads/{ident}", None),
            ("POST", "/tasks/undo", {"thread_id": ident}),
        ):
            answer = bob.request(method, path, json=body)
            assert answer.status_code == 404, (method, path)
            assert answer.json() == {"error": f"no thread {ident}"}
            assert other not in answer.text
    assert bob.get("/threads").json() == {"threads": []}
    assert bob.get("/tasks").json()["tasks"] == []
    assert [t["title"] for t in alice.get("/tasks").json()["tasks"]] == ["buy milk"]
    # The user is the token's: a body or header naming another changes nothing.
    sneaky = bob.post("/threads", json={"user": "alice"}, headers={"X-User": "alice"})
    assert sneaky.status_code == 201
    assert len(alice.get("/threads").json()["threads"]) == 1


@SQLITE_ONLY
def test_limits_are_413_and_422_with_one_line(env, server):
    alice = server.client(make_token(env))
    thread = new_thread(alice)
    url = f"/threads/{thread}/messages"
    huge = alice.post(url, content=b'{"text": "' + b"x" * 1_100_000 + b'"}')
    assert huge.status_code == 413
    assert huge.json() == {"error": "the request body is over 1000000 bytes"}
    chunks = (b'{"text": "' + b"x" * 100_000 for _ in range(11))  # no Content-Length
    chunked = alice.post(url, content=chunks, headers={"content-type": "application/json"})
    assert chunked.status_code == 413
    assert chunked.json() == {"error": "the request body is over 1000000 bytes"}
    long = alice.post(url, json={"text": "x" * 100_001})
    assert long.status_code == 422 and "at most 100000 characters" in long.json()["error"]
    for body in ({"text": "   \n"}, {"text": ""}, {}, {"text": 3}):
        answer = alice.post(url, json=body)
        assert answer.status_code == 422, body
        assert list(answer.json()) == ["error"] and "\n" not in answer.json()["error"]
    junk = alice.post(url, content=b"not json", headers={"content-type": "application/json"})
    assert junk.status_code == 422 and list(junk.json()) == ["error"]
    assert alice.get(url).json()["messages"] == []  # nothing refused was logged
