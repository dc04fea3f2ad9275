"""Who is asking: the bearer token of the request, and nothing else.

Never a body field, a query parameter or another header: a request's user comes from its
`Authorization: Bearer` token alone. No token, a bad one or a revoked one is a 401 with
`WWW-Authenticate: Bearer`. The check is a sync dependency, so FastAPI runs its database
read in a worker thread and the event loop keeps serving other requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Caller:
    """The user a request speaks for, as the core sees them, and whether it may operate."""

    user: Any  # the core's `app.user(name)`
    operator: bool


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers=CHALLENGE)


def bearer_token(request: Request) -> str:
    """The token of `Authorization: Bearer TOKEN`; 401 when there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("a bearer token is required (todochat tokens create)")
    return token.strip()


def caller(request: Request) -> Caller:
    """The request's caller; 401 for an unknown or revoked token."""
    core = request.app.state.core
    found = core.tokens.bearer(bearer_token(request))
    if found is None:
        raise unauthorized("the token is unknown or revoked")
    return Caller(core.user(found.user_name), found.operator)


CallerDep = Annotated[Caller, Depends(caller)]


def operator(who: CallerDep) -> Caller:
    """Only an operator token (`tokens create --operator`) passes; others get 403."""
    if not who.operator:
        raise HTTPException(403, "this needs an operator token (tokens create --operator)")
    return who


OperatorDep = Annotated[Caller, Depends(operator)]
