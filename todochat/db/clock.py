"""Whose clock stamps the log: on PostgreSQL the server's, one for every machine.

Machines sharing a database have clocks that differ, and a clock can step back (NTP, a
suspended laptop). Times are what the log shows; the log's order is its ids, never times.
On SQLite, a file on this machine, this process's clock is the only one there is.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from todochat.db.models import utcnow


def _on_server(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def stamp(db: Session) -> datetime | ColumnElement[datetime]:
    """The time to stamp an inserted row with, as its value in the INSERT (no round trip)."""
    return func.now() if _on_server(db) else utcnow()


def now(db: Session) -> datetime:
    """`stamp` as a value, for a row the caller keeps using (one round trip on PostgreSQL)."""
    if not _on_server(db):
        return utcnow()
    return db.scalar(select(func.now())).astimezone(UTC)
