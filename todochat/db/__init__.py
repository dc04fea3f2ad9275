"""The app database: users, conversations, messages and tasks (SQLAlchemy 2.0).

PostgreSQL (psycopg 3) when DATABASE_URL says so, an embedded SQLite file otherwise. Each
module of queries owns one concept; nothing outside this package writes SQL for this store.
"""

from todochat.db.engine import Database, open_database

__all__ = ["Database", "open_database"]
