"""Migration m008, frozen: the bearer tokens of `todochat serve` (issue 20).

DDL of its own, not from the models, so it means the same on every database it ever meets.
Only a token's SHA-256 is stored; the token itself is shown once, when it is made.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
)
from sqlalchemy.engine import Connection

from todochat.db import schema_m001

Stamp = DateTime(timezone=True)
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def apply(conn: Connection) -> None:
    """Create `api_tokens` with its unique index on the hash (how a request is looked up)."""
    metadata = MetaData()
    schema_m001.metadata.tables["users"].to_metadata(metadata)  # what the tokens refer to
    Table(
        "api_tokens",
        metadata,
        Column("id", BigIntId, primary_key=True, autoincrement=True),
        Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        Column("token_hash", String(64), nullable=False),
        Column("label", String(100), nullable=False),
        Column("operator", Boolean, nullable=False),
        Column("created_at", Stamp, nullable=False),
        Column("revoked_at", Stamp),
        Index("ix_api_tokens_hash", "token_hash", unique=True),
    ).create(conn, checkfirst=True)  # idempotent, as every migration
