"""Agent memory: the SDK's SQLite file, a bounded cache of the durable log.

store (all SQL on the file), sdk_session (session ids, the SDK's `SQLiteSession`), turn (what
a chat turn needs), manager (`SessionManager`, the spec's API), cleanup (paced expiry for
cron), admin (whose memories, named as conversations), locks (flocks and the lock-retry
policy), health (what recorded cleanup runs and turn timings say: the spec's monitoring),
prometheus (the textfile format). None of it imports the Agents SDK at import time.
"""
