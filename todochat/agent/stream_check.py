"""Knowing a model reply arrived whole: an httpx transport that watches each reply stream.

The SDK takes a stream that simply stops as a finished reply (Chat Completions, except on
api.openai.com) or fails without keeping what arrived (Responses), and a 200 HTML page
(a web server where the API should be) as an empty reply. A reply stream is whole only when
the server said it ended: a finish reason or `[DONE]` (Chat Completions), a
`response.completed` / `incomplete` / `failed` event (Responses). Otherwise reading it
raises `IncompleteStream`, which the chat service turns into a reply marked incomplete.
The transport is httpx's documented extension point; the SDK and openai stay untouched.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx2 as httpx  # the HTTP client openai uses (a fork of httpx, same API)

# A data line that ends the stream. Quotes inside model text arrive escaped (\"), so a
# quote not after a backslash is JSON syntax, never the model's words.
END_OF_REPLY = re.compile(
    rb'^data: ?\[DONE\]\s*$|(?<!\\)"finish_reason"\s*:\s*"'
    rb'|(?<!\\)"type"\s*:\s*"response\.(?:completed|incomplete|failed)"'
)
REPLY_PATHS = ("/chat/completions", "/responses")


class IncompleteStream(Exception):
    """The model's reply stream ended before the reply did, or was not an API stream."""


class CheckedTransport(httpx.AsyncBaseTransport):
    """Wraps the reply streams of another transport so that an unfinished one raises."""

    def __init__(self, inner: httpx.AsyncBaseTransport | None = None):
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if response.status_code != 200 or not request.url.path.endswith(REPLY_PATHS):
            return response
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            return response  # a whole reply in one body (not streamed): JSON says if it parsed
        body = _checked(response.stream) if kind == "text/event-stream" else _refused(kind)
        return httpx.Response(
            200, headers=response.headers, stream=_Stream(body, response.stream), request=request
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _checked(stream: httpx.AsyncByteStream) -> AsyncIterator[bytes]:
    """The stream's bytes; `IncompleteStream` if it ends, or breaks, before its end mark."""
    line, ended = bytearray(), False
    try:
        async for chunk in stream:
            if not ended:
                ended = _scan(line, chunk)
            yield chunk
    except httpx.TransportError as exc:
        raise IncompleteStream(f"the connection broke during the reply ({exc})") from None
    if not ended:
        raise IncompleteStream("the model server closed the stream before the reply ended")


def _scan(line: bytearray, chunk: bytes) -> bool:
    """Feed `chunk` to the partial `line`; True once a whole line marks the reply's end."""
    if b"\n" not in chunk:
        line += chunk  # a long line in many chunks: appended, never copied again
        return False
    head, *middle, rest = chunk.split(b"\n")
    complete = [bytes(line) + head, *middle]
    line[:] = rest
    return any(END_OF_REPLY.search(text.rstrip(b"\r")) for text in complete)


async def _refused(kind: str) -> AsyncIterator[bytes]:
    what = "an HTML page" if kind == "text/html" else f"{kind or 'an untyped body'}"
    raise IncompleteStream(
        f"the model server sent {what}, not an API stream (check OPENAI_BASE_URL)"
    )
    yield b""  # an async generator that raises on first read


class _Stream(httpx.AsyncByteStream):
    """An async byte stream over `body` that closes the original stream."""

    def __init__(self, body: AsyncIterator[bytes], original: httpx.AsyncByteStream):
        self.body, self.original = body, original

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.body:
            yield chunk

    async def aclose(self) -> None:
        await self.original.aclose()
