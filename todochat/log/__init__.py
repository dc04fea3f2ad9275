"""The durable log: conversations, messages, search, history pages, export and import, forget.

`user_log.UserLog` is one user's view (`app.user(name).log`); the SQL stays in the query
modules here (conversations, messages, search, transfer, users, turn_locks). Nothing is
imported with the package, so a module of it costs only what it imports itself.
"""
