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
    assert [(t["number"], t["title"], t["done"]) for t in tasks["tasks"]] == [
        (1, "buy milk", False)
    ]
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


WORDS = " ".join(f"word{i}" for i in range(40))


def slow_model(**options):
    from openai_server import OpenAIServer, Reply

    script = options.pop("script", [Reply(text=f"Counting: {WORDS}"), Reply(text="Next.")])
    return OpenAIServer(chunk_delay=options.pop("delay", 0.1), script=script, **options)


def model_env(model) -> dict[str, str]:
    return {"TODOCHAT_MODEL": "slow", "OPENAI_BASE_URL": model.base_url}


def wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_client_leaving_mid_reply_is_ctrl_c_partial_kept_marked_lock_freed(env, tmp_path):
    from todochat.turn import CANCELLED_MARK

    with slow_model() as model, Server(env, log=tmp_path / "s.log", **model_env(model)) as server:
        alice = server.client(make_token(env))
        thread = new_thread(alice)
        url = f"/threads/{thread}/messages"
        seen = []
        with alice.stream("POST", url, json={"text": "count"}) as answer:
            for name, _data in sse_events(answer.iter_lines()):
                seen.append(name)
                if seen.count("delta") == 3:
                    break  # and the connection closes with the response, mid-reply

        def logged():
            messages = alice.get(url).json()["messages"]
            return messages if len(messages) == 2 else None

        question, reply = wait_for(logged)
        assert seen[0] == "saved" and question["content"] == "count"
        assert reply["content"].startswith("Counting: word0")
        assert reply["content"].endswith(CANCELLED_MARK) and "word39" not in reply["content"]
        assert reply["reply_to"] == question["id"]
        again = post_message(alice, thread, "next")  # the lock was freed
        assert names(again)[-1] == "done" and again[-1][1]["text"] == "Next."


def test_two_posts_to_one_thread_take_turns(env, tmp_path):
    from openai_server import Reply

    script = [Reply(text=f"First {WORDS}"), Reply(text=f"Second {WORDS}")]
    with (
        slow_model(script=script, delay=0.02) as model,
        Server(env, log=tmp_path / "s.log", **model_env(model)) as server,
    ):
        token = make_token(env)
        thread = new_thread(server.client(token))
        timed: dict[str, list[tuple[float, str, dict]]] = {}

        def send(text: str) -> None:
            with server.client(token) as client:
                url = f"/threads/{thread}/messages"
                with client.stream("POST", url, json={"text": text}) as answer:
                    timed[text] = [
                        (time.monotonic(), name, data)
                        for name, data in sse_events(answer.iter_lines())
                    ]

        senders = [threading.Thread(target=send, args=(t,)) for t in ("one", "two")]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(60)
        assert all(names([e[1:] for e in timed[t]])[-1] == "done" for t in ("one", "two"))
        first, second = sorted(timed.values(), key=lambda events: events[-1][0])
        first_done = first[-1][0]
        second_deltas = [at for at, name, _ in second if name == "delta"]
        assert first_done <= min(second_deltas)  # not one word of the second before the first ended
        replies = [e[2]["text"] for e in (first[-1], second[-1])]
        assert replies == [f"First {WORDS}", f"Second {WORDS}"]
        logged = server.client(token).get(f"/threads/{thread}/messages").json()["messages"]
        replies_to = {m["reply_to"]: m["content"] for m in logged if m["role"] == "assistant"}
        for events in (first, second):  # each reply is logged against its own question
            assert replies_to[events[0][2]["message_id"]] == events[-1][2]["text"]


def test_a_model_error_is_an_error_event_after_saved_and_the_message_stays(env, tmp_path):
    with (
        slow_model(fail_status=500) as model,
        Server(env, log=tmp_path / "s.log", **model_env(model)) as server,
    ):
        alice = server.client(make_token(env))
        thread = new_thread(alice)
        events = post_message(alice, thread, "buy milk")
        assert names(events) == ["saved", "error"]
        message = events[-1][1]["message"]
        assert message and "\n" not in message and "Traceback" not in message
        logged = alice.get(f"/threads/{thread}/messages").json()["messages"]
        assert [(m["id"], m["content"]) for m in logged][:1] == [
            (events[0][1]["message_id"], "buy milk")
        ]
        assert "Traceback" not in server.log_text()


@POSTGRES_ONLY
def test_postgresql_restarting_between_requests_is_reconnected(env, server):
    from faults import terminate_backends

    alice = server.client(make_token(env))
    thread = new_thread(alice)
    assert names(post_message(alice, thread, "buy milk"))[-1] == "done"
    assert terminate_backends(env["DATABASE_URL"]) >= 1  # the server's pooled ones among them
    assert alice.get("/threads").status_code == 200
    terminate_backends(env["DATABASE_URL"])
    assert names(post_message(alice, thread, "call mom"))[-1] == "done"
    assert [t["title"] for t in alice.get("/tasks").json()["tasks"]] == ["buy milk", "call mom"]


@SQLITE_ONLY
def test_a_turn_waiting_on_the_database_does_not_hold_up_other_requests(env, server):
    """The turn's writes run in worker threads: while one waits for a SQLite write lock held
    elsewhere, the event loop goes on answering (reads pass under WAL)."""
    import sqlite3

    alice = server.client(make_token(env))
    bob = server.client(make_token(env, "bob"))
    thread = new_thread(alice)
    blocker = sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///"), timeout=30)
    blocker.execute("BEGIN IMMEDIATE")
    done: list = []
    sender = threading.Thread(target=lambda: done.append(post_message(alice, thread, "hi")))
    sender.start()
    time.sleep(1.5)  # the turn is now waiting for the lock
    start = time.monotonic()
    listed = bob.get("/threads")
    waited = time.monotonic() - start
    blocker.rollback()
    blocker.close()
    sender.join(60)
    assert listed.status_code == 200 and waited < 1.0, waited
    assert names(done[0])[-1] == "done"


def test_metrics_for_operator_tokens_only(env, server):
    operator = server.client(make_token(env, "ops", operator=True))
    answer = operator.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert "# TYPE todochat_" in answer.text
    assert server.client(make_token(env)).get("/metrics").status_code == 403
    assert server.client().get("/metrics").status_code == 401


@SQLITE_ONLY
def test_cors_is_off_unless_an_origin_is_named(env, tmp_path, server):
    token = make_token(env)
    preflight = {
        "Origin": "http://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    plain = server.client(token)
    assert "access-control-allow-origin" not in plain.options("/threads", headers=preflight).headers
    got = plain.get("/threads", headers={"Origin": "http://app.example"})
    assert "access-control-allow-origin" not in got.headers
    with Server(env, "--cors-origin", "http://app.example", log=tmp_path / "c.log") as open_one:
        client = open_one.client(token)
        allowed = client.options("/threads", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "http://app.example"
        other = client.options("/threads", headers={**preflight, "Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers


@POSTGRES_ONLY
def test_no_secret_reaches_a_response_or_the_log(env, tmp_path):
    from faults import PostgresProxy
    from sqlalchemy.engine import make_url

    secret_url = make_url(env["DATABASE_URL"]).set(password="s3cret-pw")
    proxy = PostgresProxy(secret_url.render_as_string(hide_password=False))
    key = "sk-test-secret-key-0123456789"
    token = make_token(env)
    bodies = []
    try:
        with Server(
            env,
            log=tmp_path / "s.log",
            DATABASE_URL=proxy.url,
            OPENAI_API_KEY=key,
            TODOCHAT_MODEL="offline",
        ) as server:
            alice = server.client(token)
            thread = new_thread(alice)
            bodies.append(json.dumps(post_message(alice, thread, "buy milk")))
            bodies.append(server.client("tdc_" + "x" * 40).get("/threads").text)
            proxy.down()
            failed = alice.get("/threads")
            bodies.append(failed.text)
            assert failed.status_code == 503 and list(failed.json()) == ["error"]
            proxy.up()
            log = server.log_text()
    finally:
        proxy.close()
    for text in [*bodies, log]:
        for secret in (token, "s3cret-pw", key, "x" * 40):
            assert secret not in text
    assert "Traceback" not in log


@SQLITE_ONLY
def test_binds_loopback_unless_told_and_warns_when_told(env, tmp_path):
    import socket

    with Server(env, log=tmp_path / "a.log") as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert "Warning" not in server.log_text()
    with Server(env, "--host", "0.0.0.0", log=tmp_path / "b.log") as server:
        assert "Warning: listening on 0.0.0.0" in server.log_text()
        assert "TLS" in server.log_text()
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        import subprocess

        from conftest import TODOCHAT, subprocess_env

        busy = subprocess.run(
            [*TODOCHAT, "serve", "--port", str(port)],
            env=subprocess_env(env),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert busy.returncode == 2
    assert busy.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert busy.stderr.count("\n") == 1


@SQLITE_ONLY
@pytest.mark.parametrize(
    "args",
    [["tasks"], ["conversations"], ["tokens", "list"], ["sessions", "stats"], ["info"], ["--help"]],
)
def test_other_commands_do_not_import_the_web_stack(env, args):
    from conftest import imported_by

    imported = imported_by(env, *args)
    web = {"fastapi", "uvicorn", "starlette", "chatkit", "todochat.server"}
    assert not {m for m in imported if m.split(".")[0] in web or m.startswith("todochat.server")}


@POSTGRES_ONLY
def test_more_clients_at_once_than_the_pool_has_connections(env, server):
    """Each turn holds a pooled connection for its lock: 24 at once once took all of them
    and every turn then waited for a second (a server stopped until the pool timed out)."""
    tokens = [make_token(env, f"user{i}") for i in range(24)]
    threads = [new_thread(server.client(t)) for t in tokens]
    endings: list[str] = []

    def send(token: str, thread: str) -> None:
        with server.client(token) as client:
            events = post_message(client, thread, "buy milk")
            endings.append(events[-1][0] if events[-1][0] == "done" else str(events[-1][1]))

    senders = [
        threading.Thread(target=send, args=pair) for pair in zip(tokens, threads, strict=True)
    ]
    start = time.monotonic()
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(120)
    assert endings == ["done"] * 24
    assert time.monotonic() - start < 25  # the pool's 30 s timeout was never waited out
