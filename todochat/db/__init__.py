"""The app database's infrastructure: engine, models and migrations (SQLAlchemy 2.0).

PostgreSQL (psycopg 3) when DATABASE_URL says so, an embedded SQLite file otherwise. The
queries live with their concepts: `todochat.log` (users, conversations, messages, search,
transfer) and `todochat.tasks` (tasks and their change log); nothing else writes SQL for this
store.
"""

from todochat.db.engine import Database, open_database

__all__ = ["Database", "open_database"]
