"""Queries on users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from todochat.db.models import User
from todochat.identity import user_id_for


def get_or_create_user(db: Session, name: str) -> User:
    """The user called `name`, created on first use (a race with another process is fine)."""
    user = db.scalar(select(User).where(User.name == name))
    if user is not None:
        return user
    try:
        with db.begin_nested():
            user = User(id=user_id_for(name), name=name)
            db.add(user)
    except IntegrityError:
        user = db.scalar(select(User).where(User.name == name))
    return user


def find_user(db: Session, name: str) -> User | None:
    """The user called `name`, or None when nobody of that name has chatted yet."""
    return db.scalar(select(User).where(User.name == name))
