"""The FastAPI application over one core: routes, limits, CORS and security headers."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from todochat.server import errors, ops, tasks, threads
from todochat.server.chats import ChatPool

MAX_BODY = 1_000_000  # bytes of a request body: a message is text, not an upload
# The page loads only its own script and style, and talks only to this server.
CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# FastAPI's OpenTelemetry hooks stay off: they would record requests and errors (texts that
# may name things we keep out of logs) wherever a process-wide provider is configured.
NO_TELEMETRY = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


@dataclass(frozen=True)
class Options:
    cors_origins: list[str] = field(default_factory=list)
    max_body: int = MAX_BODY
    chatkit: bool = True  # mount /chatkit when the `chatkit` extra is installed


def create_app(core: Any, options: Options | None = None) -> FastAPI:
    """The HTTP API over `core` (a `todochat.app.App`, closed by the caller)."""
    options = options or Options()
    api = FastAPI(
        title="todochat",
        docs_url=None,  # Swagger UI and ReDoc load from CDNs
        redoc_url=None,
        telemetry=NO_TELEMETRY,
        lifespan=lifespan,
    )
    api.state.core = core
    api.state.chats = ChatPool()
    errors.install(api, options.max_body)
    api.add_middleware(SecurityHeaders)
    if options.cors_origins:
        api.add_middleware(
            CORSMiddleware,
            allow_origins=options.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    for module in (ops, threads, tasks):
        api.include_router(module.router)
    if options.chatkit:
        _mount_chatkit(api)
    return api


@asynccontextmanager
async def lifespan(api: FastAPI) -> AsyncIterator[None]:
    # The agent stack loads behind the first requests, not before the server answers.
    threading.Thread(target=api.state.core.warm_up, name="warm-up", daemon=True).start()
    yield
    from todochat.server.stream import finish_orphans

    await finish_orphans()  # turns whose client left save their partial replies first
    api.state.chats.close()


class SecurityHeaders:
    """Headers every answer carries (a plain ASGI middleware: it leaves streams alone)."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", CSP.encode()),
    ]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def _mount_chatkit(api: FastAPI) -> None:
    """`POST /chatkit` when `openai-chatkit` is installed (`pip install todochat[chatkit]`)."""
    from importlib.util import find_spec

    if find_spec("chatkit") is None:
        return
    from todochat.server import chatkit

    chatkit.mount(api)
