"""Debian's headless Chromium, driven over the DevTools protocol (a websocket), for tests.

    with Browser(tmp_path) as browser:
        page = browser.page()            # the first tab
        page.go("http://127.0.0.1:8765/")
        page.js("document.title")       # evaluated in the page; its value

The real binary (`/usr/lib/chromium/chromium`; `/usr/bin/chromium` is a shell script around
it) runs in a process group of its own, which is killed as a whole afterwards: Chromium's
helper processes would outlive the test otherwise.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


def chromium_binary() -> str | None:
    """The Chromium executable, or None when the `chromium` package is not installed."""
    real = Path("/usr/lib/chromium/chromium")
    if real.exists():
        return str(real)
    return shutil.which("chromium") or shutil.which("chromium-headless-shell")


class Page:
    def __init__(self, websocket_url: str):
        from websockets.sync.client import connect

        self.ws = connect(websocket_url, max_size=None, open_timeout=20)
        self.ids = itertools.count(1)

    def call(self, method: str, **params) -> dict:
        ident = next(self.ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == ident:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message["result"]

    def go(self, url: str) -> None:
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def js(self, expression: str):
        found = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in found:
            raise AssertionError(f"{expression}: {found['exceptionDetails']}")
        return found["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expression}")

    def close(self) -> None:
        self.ws.close()


class Browser:
    def __init__(self, profile: Path):
        binary = chromium_binary()
        if binary is None:
            raise AssertionError("Chromium is missing: apt-get install chromium (.ci/run does)")
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",  # tests run as root in a container
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.endpoint = self._endpoint()

    def _endpoint(self) -> str:
        seen = []
        for line in self.proc.stderr:
            seen.append(line)
            found = LISTENING.search(line)
            if found:
                return found.group(1)
        self.close()
        raise AssertionError("Chromium did not start: " + "".join(seen)[-2000:])

    def page(self) -> Page:
        """The browser's first tab."""
        import urllib.request

        port = self.endpoint.split(":")[2].split("/")[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=20) as answer:
            tabs = [t for t in json.load(answer) if t["type"] == "page"]
        return Page(tabs[0]["webSocketDebuggerUrl"])

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)
        self.proc.stderr.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
