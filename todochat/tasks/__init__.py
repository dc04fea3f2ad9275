"""Tasks: queries, the change log and undo, due dates, and how a change reads.

`user_tasks.UserTasks` is one user's view (`app.user(name).tasks`); the agent's tools change
tasks through `tasklist`, which logs every change with its cause. Nothing is imported with
the package: `dates` is read by configuration, which must not load SQLAlchemy.
"""
