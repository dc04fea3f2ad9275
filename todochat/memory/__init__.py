"""Agent memory: the SDK's SQLite file, a bounded cache of the durable log.

facade (`UserMemory`: whose memories, named as conversations), store (all SQL on the file),
sdk (session ids, the SDK's `SQLiteSession`), turn (what a chat turn needs; what it reads
of the log is `todochat.log.memory_feed`), manager (`SessionManager`, the spec's API), expire (expiry for
cron), locks (flocks and the lock-retry policy), metrics (what recorded cleanup runs and turn
timings say: the spec's monitoring), prometheus (the textfile format). None of it imports the
Agents SDK at import time.
"""
