"""Every error answer is one line of JSON, `{"error": "..."}`, and every log line is clean.

FastAPI's own shapes (a list of validation details, "Content Too Large") become one line a
person can act on; an unexpected failure is a 500 saying only that, logged as one line with
secrets removed (a driver's message can carry a URL with its password).
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from todochat.errors import (
    AmbiguousError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    TodochatError,
)

log = logging.getLogger("todochat.server")

# Anything else the core raises is a store that failed (503): worth retrying later.
STATUS = {NotFoundError: 404, AmbiguousError: 404, InvalidInputError: 422, ConflictError: 409}
# A token, or the password of a URL such as postgresql://user:secret@host/db.
SECRETS = re.compile(r"tdc_[\w-]+|(?<=://)([^/\s:@]+):[^@\s/]+@|sk-[\w-]+")


def redacted(text: str) -> str:
    """`text` on one line with tokens, keys and URL passwords replaced."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return SECRETS.sub(lambda m: f"{m.group(1)}:***@" if m.group(1) else "***", line)


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": redacted(message)}, status_code=status, headers=headers)


def install(api: FastAPI, max_body: int) -> None:
    """Register the handlers that give every failure its one line."""

    @api.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 413:
            return error_response(413, f"the request body is over {max_body} bytes")
        return error_response(exc.status_code, str(exc.detail), exc.headers)

    @api.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, validation_line(exc.errors()))

    @api.exception_handler(TodochatError)
    async def domain_error(_request: Request, exc: TodochatError) -> JSONResponse:
        return error_response(STATUS.get(type(exc), 503), str(exc))

    api.add_middleware(CatchAll)
    api.add_middleware(TooLarge, max_body=max_body)


class CatchAll:
    """An unexpected failure: a 500 saying so, and one clean log line (Starlette's own last
    resort re-raises, and the server then logs a traceback with the exception's text)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watch(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            log.error(
                "%s %s failed: %s: %s",
                scope["method"],
                scope["path"],
                type(exc).__name__,
                redacted(str(exc)),
            )
            if not started:
                answer = error_response(500, "internal error (the server log says more)")
                await answer(scope, receive, send)


def validation_line(errors: list[dict]) -> str:
    """The first problem FastAPI found, as `body.text: Field required`."""
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


class TooLarge:
    """Bodies over the limit: 413, in our one-line shape. One whose Content-Length says so
    is refused before it is read; one sent in chunks is cut where it passes the limit (an
    `HTTPException`, which FastAPI lets through its body parsing to our handler)."""

    def __init__(self, app, max_body: int):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self._declared(scope) > self.max_body:
            answer = error_response(413, f"the request body is over {self.max_body} bytes")
            return await answer(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise HTTPException(413)
            return message

        await self.app(scope, counted, send)

    @staticmethod
    def _declared(scope) -> int:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                return int(value) if value.isdigit() else 0
        return 0
