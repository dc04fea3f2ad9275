"""A small OpenAI-API server on loopback, for tests and benchmarks: real HTTP, real SSE.

It speaks just enough of both APIs the SDK uses, streamed (`stream=true`):

- Chat Completions: `POST /v1/chat/completions`
- Responses:        `POST /v1/responses`

Each request is answered by the next scripted `Reply` or, with no script left, by a rule:
a request whose last item is a tool result gets text naming that result; a user message
"create a task to X" gets an `add_task(title=X)` tool call; anything else gets `You said: …`.
Text streams one word per chunk (or the scripted `chunks` exactly), `chunk_delay` seconds
apart (slow replies for Ctrl-C tests).
`fail_status` answers every request with that HTTP error instead; `html` answers every request
with a 200 HTML page (a web server where the API should be). A `Reply` with `cut_after=N`
streams N text pieces and then closes the connection, the reply unfinished (no finish reason,
no `[DONE]`, no `response.completed`). Every request is recorded.

In a test:  `with OpenAIServer() as server: ... OPENAI_BASE_URL=server.base_url ...`
From a shell (benchmarks): `python tests/openai_server.py --port 8765 [--delay 0.01]`
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CREATE = re.compile(r"create a task to (.+)", re.IGNORECASE)


@dataclass(frozen=True)
class Reply:
    """One model answer: text, or a call of `tool` with `arguments`.

    `chunks` streams exactly those text pieces (any characters, any split, any size) instead
    of `text` one word at a time: the model that sends anything.
    """

    text: str = ""
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    chunks: tuple[str, ...] | None = None
    cut_after: int | None = None  # stream this many pieces, then close the connection

    @property
    def pieces(self) -> list[str]:
        pieces = list(self.chunks) if self.chunks is not None else _words(self.text)
        return pieces if self.cut_after is None else pieces[: self.cut_after]

    @property
    def whole(self) -> str:
        return "".join(self.chunks) if self.chunks is not None else self.text


@dataclass(frozen=True)
class Recorded:
    """A request as the server received it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def instructions(self) -> str:
        """The system prompt, from either API's request shape."""
        if "instructions" in self.body:
            return self.body.get("instructions") or ""
        messages = self.body.get("messages", [])
        return "\n".join(_text(m.get("content")) for m in messages if m.get("role") == "system")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def default_reply(path: str, body: dict[str, Any]) -> Reply:
    """The rule used when no script is left (see the module docstring)."""
    items = body.get("messages") if path.endswith("/chat/completions") else body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    last = items[-1] if items else {}
    if last.get("role") == "tool" or last.get("type") == "function_call_output":
        result = _text(last.get("content")) or str(last.get("output", ""))
        return Reply(text=f"Done: {result}.")
    said = _text(last.get("content")).strip()
    match = CREATE.search(said)
    if match:
        return Reply(tool="add_task", arguments={"title": match.group(1).strip()})
    return Reply(text=f"You said: {said}")


class OpenAIServer:
    """A threaded HTTP server on 127.0.0.1; `base_url` ends in `/v1`."""

    def __init__(
        self,
        *,
        port: int = 0,
        chunk_delay: float = 0.0,
        fail_status: int | None = None,
        html: bool = False,
        script: list[Reply] | None = None,
    ):
        self.chunk_delay = chunk_delay
        self.fail_status = fail_status
        self.html = html
        self.script: deque[Reply] = deque(script or [])
        self.requests: list[Recorded] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def next_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}_{next(self._ids)}"

    def answer_for(self, path: str, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self.script:
                return self.script.popleft()
        return default_reply(path, body)


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        owner = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet in test output
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            return self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
        self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.owner.requests.append(Recorded(self.path, headers, body))
        if self.owner.fail_status is not None:
            return self._fail(self.owner.fail_status)
        if self.owner.html:
            return self._html()
        if self.path.endswith("/chat/completions"):
            stream = _ChatCompletionsStream
        elif self.path.endswith("/responses"):
            stream = _ResponsesStream
        else:
            return self._json(404, {"error": {"message": f"no route {self.path}"}})
        reply = self.owner.answer_for(self.path, body)
        self._start_sse()
        # The client may go away mid-stream (Ctrl-C in the REPL): nothing to finish then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stream(self, body.get("model", "fake"), reply).send()

    def _fail(self, status: int) -> None:
        kinds = {401: "invalid_api_key", 429: "rate_limit_exceeded", 500: "server_error"}
        kind = kinds.get(status, "error")
        extra = {"retry-after-ms": "10"} if status == 429 else {}
        self._json(
            status, {"error": {"message": f"fake {kind}", "type": kind, "code": kind}}, extra
        )

    def _html(self) -> None:
        page = b"<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def sse(self, payload: Any, event: str | None = None) -> None:
        head = f"event: {event}\n" if event else ""
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self.wfile.write(f"{head}data: {data}\n\n".encode())
        self.wfile.flush()

    def pause(self) -> None:
        if self.owner.chunk_delay:
            time.sleep(self.owner.chunk_delay)


def _words(text: str) -> list[str]:
    """The text in chunks of one word with its following space (joined, they are the text)."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


class _ChatCompletionsStream:
    """`chat.completion.chunk` events, then a usage chunk, then `[DONE]`."""

    def __init__(self, handler: _Handler, model: str, reply: Reply):
        self.h, self.model, self.reply = handler, model, reply
        self.id = handler.owner.next_id("chatcmpl")

    def chunk(self, delta: dict[str, Any], finish: str | None = None, usage=None) -> None:
        choices = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
        payload = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": choices,
            "usage": usage,
        }
        self.h.sse(payload)

    def send(self) -> None:
        self.chunk({"role": "assistant", "content": ""})
        if self.reply.tool:
            call = {
                "index": 0,
                "id": self.h.owner.next_id("call"),
                "type": "function",
                "function": {"name": self.reply.tool, "arguments": ""},
            }
            self.chunk({"tool_calls": [call]})
            arguments = json.dumps(self.reply.arguments)
            self.chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]})
            self.chunk({}, finish="tool_calls")
        else:
            for piece in self.reply.pieces:
                self.h.pause()
                self.chunk({"content": piece})
            if self.reply.cut_after is not None:
                return  # the connection closes here: no finish reason, no usage, no [DONE]
            self.chunk({}, finish="stop")
        self.chunk({}, usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
        self.h.sse("[DONE]")


class _ResponsesStream:
    """`response.*` events ending in `response.completed` with the whole output."""

    def __init__(self, handler: _Handler, model: str, reply: Reply):
        self.h, self.model, self.reply = handler, model, reply
        self.id = handler.owner.next_id("resp")
        self.sequence = itertools.count()

    def event(self, kind: str, **fields: Any) -> None:
        self.h.sse({"type": kind, "sequence_number": next(self.sequence), **fields}, kind)

    def response(self, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
        usage = {
            "input_tokens": 10,
            "output_tokens": 5,
            "total_tokens": 15,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        }
        return {
            "id": self.id,
            "object": "response",
            "created_at": int(time.time()),
            "model": self.model,
            "status": status,
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": usage if status == "completed" else None,
        }

    def send(self) -> None:
        self.event("response.created", response=self.response("in_progress", []))
        item = self.tool_call() if self.reply.tool else self.message()
        if self.reply.cut_after is not None:
            return  # the connection closes here: the message never ends, no response.completed
        self.event("response.output_item.done", output_index=0, item=item)
        self.event("response.completed", response=self.response("completed", [item]))

    def tool_call(self) -> dict[str, Any]:
        item_id, arguments = self.h.owner.next_id("fc"), json.dumps(self.reply.arguments)
        item = {
            "type": "function_call",
            "id": item_id,
            "call_id": self.h.owner.next_id("call"),
            "name": self.reply.tool,
            "arguments": "",
            "status": "in_progress",
        }
        self.event("response.output_item.added", output_index=0, item=item)
        where = {"item_id": item_id, "output_index": 0}
        self.event("response.function_call_arguments.delta", delta=arguments, **where)
        self.event("response.function_call_arguments.done", arguments=arguments, **where)
        return {**item, "arguments": arguments, "status": "completed"}

    def message(self) -> dict[str, Any]:
        item_id = self.h.owner.next_id("msg")
        item = {
            "type": "message",
            "id": item_id,
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        where = {"item_id": item_id, "output_index": 0, "content_index": 0}
        empty = {"type": "output_text", "text": "", "annotations": []}
        self.event("response.output_item.added", output_index=0, item=item)
        self.event("response.content_part.added", part=empty, **where)
        for piece in self.reply.pieces:
            self.h.pause()
            self.event("response.output_text.delta", delta=piece, logprobs=[], **where)
        if self.reply.cut_after is not None:
            return item
        part = {**empty, "text": self.reply.whole}
        self.event("response.output_text.done", text=self.reply.whole, logprobs=[], **where)
        self.event("response.content_part.done", part=part, **where)
        return {**item, "status": "completed", "content": [part]}


def main() -> None:
    """Serve until interrupted (for benchmarks and manual runs)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between text chunks")
    args = parser.parse_args()
    with OpenAIServer(port=args.port, chunk_delay=args.delay) as server:
        print(f"OPENAI_BASE_URL={server.base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
