"""A PostgreSQL database made for one benchmark run and dropped after it (like tests/conftest.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def fresh_database() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a new, empty database; drop it (forcibly) afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = os.environ.get("TODOCHAT_TEST_DATABASE_URL") or DEFAULT_SERVER
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    name = f"todochat_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(server).set(drivername="postgresql+psycopg", database=name)
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            from todochat.db.engine import close_all

            close_all()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
