"""Bearer tokens for `todochat serve`: made, listed, revoked, and checked on each request.

A token is 32 random bytes; the database keeps only its SHA-256 (a token has far too much
entropy to guess back from its hash, so a slow password hash would only slow each request).
It is shown once, when made. Every request's user comes from its token and nothing else.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import NamedTuple

from sqlalchemy.orm import Session

from todochat.access import queries as token_queries
from todochat.access.queries import Bearer
from todochat.db import Database
from todochat.errors import AppDatabaseError, InvalidInputError, NotFoundError
from todochat.log import users as user_queries

PREFIX = "tdc_"  # tells a todochat token apart in a config file or a secret scanner
LABEL_LENGTH = 100


class NewToken(NamedTuple):
    id: int
    user: str
    label: str
    operator: bool
    token: str  # the secret: shown once, never stored


def token_hash(token: str) -> str:
    """What is stored of a token and looked up by: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ApiTokens:
    """The tokens of one app database."""

    def __init__(self, database: Database):
        self.database = database

    def create(self, user: str, label: str = "", operator: bool = False) -> NewToken:
        """A new token for `user` (created on first use, as a chat creates them)."""
        label = _checked_label(label)
        token = PREFIX + secrets.token_urlsafe(32)

        def add(db) -> int:
            owner = user_queries.get_or_create_user(db, user)
            return token_queries.add_token(db, owner.id, token_hash(token), label, operator).id

        return NewToken(self.database.write(add), user, label, operator, token)

    def list(self, user: str | None = None) -> list:
        """Every token (or `user`'s): id, user, label, operator, created_at, revoked_at."""
        with self.database.session() as db:
            if user is None:
                return token_queries.list_tokens(db)
            owner = user_queries.find_user(db, user)
            return token_queries.list_tokens(db, owner.id) if owner else []

    def revoke(self, token_id: int) -> bool:
        """Revoke token `token_id`; False when it was revoked already."""

        def revoke(db) -> bool:
            token = token_queries.revoke_token(db, token_id)
            if token is None:
                raise NotFoundError(f"no token {token_id} (see `todochat tokens list`)")
            return token in db.dirty

        return self.database.write(revoke)

    def bearer(self, token: str) -> Bearer | None:
        """Who `token` speaks for, or None (unknown, revoked or malformed)."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        digest = token_hash(token)
        try:
            return self._find(digest)
        except AppDatabaseError:  # a connection the server dropped (a restart): once more,
            return self._find(digest)  # on a new one, as a turn's first write does

    def _find(self, digest: str) -> Bearer | None:
        """One statement outside a transaction: asked on every request."""
        with self.database.reading() as conn, Session(conn) as db:
            return token_queries.find_bearer(db, digest)


def _checked_label(label: str) -> str:
    if len(label) > LABEL_LENGTH:
        raise InvalidInputError(f"a token name is at most {LABEL_LENGTH} characters")
    if any(not c.isprintable() for c in label):
        raise InvalidInputError("a token name must be printable")
    return label.strip()
