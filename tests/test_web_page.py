"""The web page `todochat serve` ships, in a real browser (headless Chromium): a token, a
message, the streamed reply and the task list updated after the turn."""

from __future__ import annotations

import pytest
from browser import Browser
from http_server import Server, make_token

SQLITE_ONLY = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_the_page_sends_buy_milk_and_shows_the_reply_and_the_task(env, tmp_path):
    token = make_token(env)
    with Server(env, log=tmp_path / "s.log") as server, Browser(tmp_path / "profile") as browser:
        page = browser.page()
        page.go(f"{server.url}/")
        assert page.js("document.title") == "todochat"
        page.js(f"document.getElementById('token').value = {token!r}")
        page.js("document.getElementById('save-token').click()")
        page.js("document.getElementById('text').value = 'buy milk'")
        page.js("document.getElementById('send').click()")
        reply = page.wait_for(
            "[...document.querySelectorAll('#messages li.assistant')]"
            ".map(li => li.textContent).find(t => t.includes('buy milk'))"
        )
        assert "Added" in reply and "added #1 buy milk" in reply
        tasks = page.wait_for("document.getElementById('tasks').textContent")
        assert tasks == "#1 buy milk"
        threads = page.wait_for(  # refreshed beside the task list, maybe a moment after it
            "[...document.querySelectorAll('#threads li')].map(li => li.textContent)"
            ".join('|') === 'buy milk'"
        )
        assert threads is True
        assert page.js("document.getElementById('status').textContent") == ""
        page.close()
    assert token not in server.log_text()
