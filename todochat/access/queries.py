"""Queries on the bearer tokens of `todochat serve` (m008): only hashes are ever stored."""

from __future__ import annotations

import uuid
from typing import NamedTuple

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from todochat.db.models import ApiToken, User, utcnow


class Bearer(NamedTuple):
    """Who a valid token speaks for."""

    user_name: str
    operator: bool


def add_token(
    db: Session, user_id: uuid.UUID, token_hash: str, label: str, operator: bool
) -> ApiToken:
    """Record a new token's hash for `user_id`."""
    token = ApiToken(user_id=user_id, token_hash=token_hash, label=label, operator=operator)
    db.add(token)
    db.flush()
    return token


def list_tokens(db: Session, user_id: uuid.UUID | None = None) -> list[Row]:
    """Every token (or `user_id`'s) in the order they were made, with its user's name."""
    query = select(
        ApiToken.id,
        User.name.label("user"),
        ApiToken.label,
        ApiToken.operator,
        ApiToken.created_at,
        ApiToken.revoked_at,
    ).join(User, User.id == ApiToken.user_id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(db.execute(query.order_by(ApiToken.id)))


def revoke_token(db: Session, token_id: int) -> ApiToken | None:
    """Mark the token revoked (once: a second revoke keeps the first time); None if unknown."""
    token = db.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def find_bearer(db: Session, token_hash: str) -> Bearer | None:
    """The user of the unrevoked token with this hash, or None."""
    row = db.execute(
        select(User.name, ApiToken.operator)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    ).first()
    return Bearer(row.name, row.operator) if row is not None else None
