"""The network model path against a real HTTP server on loopback speaking the OpenAI API.

Both APIs the SDK speaks, streamed: Chat Completions and Responses. The server answers a
"create a task" message with an `add_task` tool call and the tool result with streamed text.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from app_state import add_tasks, conversation_ids, conversation_log, open_chat, task_titles
from conftest import TODOCHAT, subprocess_env
from openai_server import OpenAIServer, Reply
from typer.testing import CliRunner

from todochat.cli import app
from todochat.config import load_settings

KEY = "sk-test-d0-not-leak-7c1f"
SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
PATHS = {"chat_completions": "/v1/chat/completions", "responses": "/v1/responses"}


@pytest.fixture
def server():
    with OpenAIServer() as running:
        yield running


def use_server(monkeypatch, server: OpenAIServer, api: str, key: str | None = KEY) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("TODOCHAT_MODEL", "fake-model")
    monkeypatch.setenv("TODOCHAT_OPENAI_API", api)
    if key:
        monkeypatch.setenv("OPENAI_API_KEY", key)


def stored_bytes(*paths: str | Path) -> bytes:
    """Every byte of the given SQLite files and their journals."""
    found = b""
    for path in paths:
        for candidate in (Path(path), Path(f"{path}-wal"), Path(f"{path}-journal")):
            if candidate.exists():
                found += candidate.read_bytes()
    return found


@pytest.mark.parametrize("api", ["chat_completions", "responses"])
def test_a_tool_call_then_streamed_text(env, monkeypatch, server, api):
    add_tasks(env["DATABASE_URL"], ["pay rent"])
    use_server(monkeypatch, server, api)
    settings = load_settings()
    service = open_chat(settings)
    deltas: list[str] = []

    result = asyncio.run(service.turn("create a task to buy groceries", deltas.append))
    service.close()

    # The tool really ran against the app database, and the reply streamed word by word.
    assert task_titles(env["DATABASE_URL"]) == ["pay rent", "buy groceries"]
    assert result.reply == "Done: Added task #2 buy groceries [open]."
    assert deltas == ["Done: ", "Added ", "task ", "#2 ", "buy ", "groceries ", "[open]."]

    first, second = server.requests
    assert [first.path, second.path] == [PATHS[api]] * 2
    assert first.body["model"] == "fake-model" and first.body["stream"] is True
    assert "The user's open tasks:\n#1 pay rent [open]" in first.instructions
    assert "add_task" in json.dumps(first.body["tools"])
    assert "Added task #2 buy groceries [open]" in json.dumps(second.body)  # the tool output
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {KEY}"}

    secret = KEY.encode()
    assert secret not in stored_bytes(settings.agent_session_db_path)
    assert all(KEY not in text for log in conversation_log(env["DATABASE_URL"]) for _, text in log)


@SQLITE_ONLY
def test_the_key_never_reaches_output_or_logs(env, server):
    api = "responses"  # both APIs send the key the same way; the test above checks each
    child = subprocess_env(
        env,
        OPENAI_BASE_URL=server.base_url,
        OPENAI_API_KEY=KEY,
        TODOCHAT_MODEL="fake-model",
        TODOCHAT_OPENAI_API=api,
        OPENAI_LOG="debug",  # the client's own debug log, on stderr
    )
    done = subprocess.run(
        TODOCHAT + ["chat", "-m", "create a task to buy groceries"],
        env=child,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (done.returncode, done.stdout) == (0, "Done: Added task #1 buy groceries [open].\n")
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in done.stdout + done.stderr
    data = Path(env["TODOCHAT_DATA_DIR"])
    assert KEY.encode() not in stored_bytes(data / "agent_sessions.db", env["DATABASE_URL"][10:])
    assert all(KEY.encode() not in f.read_bytes() for f in data.rglob("*") if f.is_file())


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, "the model {where} failed with HTTP 500"),
        (401, "the model {where} rejected the API key (check OPENAI_API_KEY)"),
        (429, "the model {where} is rate limiting requests; wait and try again"),
        (None, "cannot reach the model {where} (is the server running?)"),  # nothing listens
    ],
)
def test_a_model_error_is_one_line_and_keeps_the_message(env, monkeypatch, status, error):
    with OpenAIServer(fail_status=status) as server:
        base_url = server.base_url if status else f"http://127.0.0.1:{free_port()}/v1"
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("TODOCHAT_MODEL", "fake-model")
        result = CliRunner().invoke(app, ["chat", "-m", "create a task to buy groceries"])

    assert result.exception is None or isinstance(result.exception, SystemExit)
    expected = "Error: " + error.format(where=f"fake-model @ {base_url}") + "\n"
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", expected)
    assert KEY not in result.stderr
    [log] = conversation_log(env["DATABASE_URL"])
    assert log == [("user", "create a task to buy groceries")]
    assert task_titles(env["DATABASE_URL"]) == []
    [conversation] = conversation_ids(env["DATABASE_URL"])
    shown = CliRunner().invoke(app, ["history", conversation[:8]]).stdout
    assert shown.endswith(" you: create a task to buy groceries\n")


AUDIT = """
import runpy, sys
log = open(sys.argv[1], "a", buffering=1)
NETWORK = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto")

def hook(event, args):
    if event in NETWORK:
        log.write(f"{event} {args!r}\\n")

sys.addaudithook(hook)
sys.argv = ["todochat", *sys.argv[2:]]
runpy.run_module("todochat", run_name="__main__", alter_sys=True)
"""


def network_attempts(env, tmp_path, lines: str, **extra: str) -> tuple[list[str], str]:
    """Run piped `todochat chat` with an audit hook that records every network call."""
    log = tmp_path / "network.log"
    done = subprocess.run(
        [sys.executable, "-c", AUDIT, str(log), "chat"],
        input=lines,
        env=subprocess_env(env, **extra),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return (log.read_text().splitlines() if log.exists() else []), done.stderr


@SQLITE_ONLY
def test_offline_touches_no_network_even_with_tracing_asked_for(env, tmp_path):
    lines = "create a task to buy groceries\nwhat tasks do I have?\n"
    attempts, stderr = network_attempts(env, tmp_path, lines, TODOCHAT_TRACING="true")
    assert attempts == []
    assert stderr == ""  # and no "skipping trace export" complaint either
    assert task_titles(env["DATABASE_URL"]) == ["buy groceries"]


@SQLITE_ONLY
def test_the_network_audit_does_see_a_model_server(env, tmp_path, server):
    """The method above would notice a connection: here the model is on the network."""
    attempts, _ = network_attempts(
        env, tmp_path, "hello\n", OPENAI_BASE_URL=server.base_url, TODOCHAT_MODEL="fake-model"
    )
    assert any(a.startswith("socket.connect") and f"{server.port})" in a for a in attempts)


LONG_REPLY = " ".join(f"w{i}" for i in range(300))


@SQLITE_ONLY
def test_a_reader_that_goes_away_loses_no_reply(env):
    """`chat -m … | head -c 10`, four times (3 of 6 replies were lost): each reply is logged
    whole, and the command exits 141, quietly."""
    with OpenAIServer(chunk_delay=0.003, script=[Reply(text=LONG_REPLY)] * 4) as server:
        child = subprocess_env(env, OPENAI_BASE_URL=server.base_url, TODOCHAT_MODEL="fake-model")
        for run in range(4):
            chat = subprocess.Popen(
                TODOCHAT + ["chat", "-m", f"run {run}"],
                env=child,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            assert chat.stdout.read(10) == b"w0 w1 w2 w"  # the reply is streaming…
            chat.stdout.close()  # …and the reader goes away, as `head -c 10` does
            stderr = chat.stderr.read()
            assert (chat.wait(timeout=30), stderr) == (141, b"")
    logs = conversation_log(env["DATABASE_URL"])
    assert logs == [[("user", f"run {run}"), ("assistant", LONG_REPLY)] for run in range(4)]


def incomplete_turn(env, api: str, **server_options) -> tuple[subprocess.CompletedProcess, list]:
    """One `chat -m` against a server that breaks its reply; the process and the log."""
    with OpenAIServer(**server_options) as server:
        done = subprocess.run(
            TODOCHAT + ["chat", "-m", "hello"],
            env=subprocess_env(
                env,
                OPENAI_BASE_URL=server.base_url,
                TODOCHAT_MODEL="fake-model",
                TODOCHAT_OPENAI_API=api,
            ),
            capture_output=True,
            text=True,
            timeout=30,
        )
    return done, conversation_log(env["DATABASE_URL"])


@SQLITE_ONLY
@pytest.mark.parametrize("api", ["chat_completions", "responses"])
def test_a_reply_cut_mid_stream_is_marked_incomplete(env, api):
    cut = Reply(text="one two three four five six", cut_after=3)
    done, log = incomplete_turn(env, api, script=[cut])
    assert done.stdout == "one two three \n[reply incomplete]\n"
    assert done.stderr == (
        "Error: the reply is incomplete: the model server closed the stream before the reply "
        "ended; what arrived is logged, marked so\n"
    )
    assert done.returncode == 1
    assert log == [[("user", "hello"), ("assistant", "one two three\n\n[reply incomplete]")]]


@SQLITE_ONLY
@pytest.mark.parametrize("api", ["chat_completions", "responses"])
def test_an_html_page_is_no_reply(env, api):
    done, log = incomplete_turn(env, api, html=True)
    assert done.stdout == "[reply incomplete]\n"
    assert done.stderr == (
        "Error: the reply is incomplete: the model server sent an HTML page, not an API stream "
        "(check OPENAI_BASE_URL); what arrived is logged, marked so\n"
    )
    assert done.returncode == 1
    assert log == [[("user", "hello"), ("assistant", "[reply incomplete]")]]
