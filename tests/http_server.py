"""`todochat serve` for tests: the real server in a subprocess on a free loopback port.

    with Server(env) as server:
        alice = server.client(token)           # an httpx client sending that bearer token
        events = post_message(alice, thread_id, "buy milk")   # [(name, data), ...]

`Server` starts `todochat serve --port 0`, reads the port it announces, and waits for
`/healthz`; its stderr (the server's log) is kept in `server.log_text()` so a test can check
what reached it. `sse_events` parses a `text/event-stream` body line by line, as a browser
does, so the wire format is tested too, not only what a library makes of it.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
from conftest import TODOCHAT, subprocess_env

LISTENING = re.compile(r"listening on (http://\S+?)/? ")


class Server:
    def __init__(self, env: dict[str, str], *args: str, log: Path, **extra_env: str):
        self.log = log
        self.proc = subprocess.Popen(
            [*TODOCHAT, "serve", "--port", "0", *args],
            env=subprocess_env(env, **extra_env),
            stdout=subprocess.PIPE,
            stderr=log.open("wb"),
            text=True,
        )
        self.url = self._announced()
        # The access log goes on on stdout: a pipe nobody reads would fill and stop the server.
        self._drain = threading.Thread(target=self._keep_stdout, daemon=True)
        self._drain.start()
        self._wait_healthy()

    def _announced(self) -> str:
        line = self.proc.stdout.readline()
        found = LISTENING.search(line)
        if found is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"no listening line: {line!r}; log: {self.log_text()[-2000:]}")
        return found.group(1)

    def _keep_stdout(self) -> None:
        with self.log.with_suffix(".out").open("a") as out:
            for line in self.proc.stdout:
                out.write(line)

    def log_text(self) -> str:
        """The server's log: stderr, then what it wrote on stdout (the access log)."""
        parts = [self.log, self.log.with_suffix(".out")]
        return "".join(p.read_text(errors="replace") for p in parts if p.exists())

    def _wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"server not healthy; log: {self.log_text()[-2000:]}")

    def client(self, token: str | None = None, timeout: float = 60.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._drain.join(10)
        return self.proc.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict]]:
    """(event name, JSON data) of each event of a stream; comments (`: ping`) skipped."""
    name, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)


def post_message(client: httpx.Client, thread_id: str, text: str) -> list[tuple[str, dict]]:
    """Send one message; every event of the answer, once the stream has ended."""
    with client.stream("POST", f"/threads/{thread_id}/messages", json={"text": text}) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        return list(sse_events(answer.iter_lines()))


def new_thread(client: httpx.Client) -> str:
    made = client.post("/threads")
    assert made.status_code == 201, made.text
    return made.json()["id"]


def make_token(env: dict[str, str], user: str = "alice", operator: bool = False) -> str:
    """A new token for `user`, made as `todochat tokens create` makes it (in this process)."""
    from todochat.app import App
    from todochat.config import load_settings

    return App(load_settings(env)).tokens.create(user, "test", operator).token
