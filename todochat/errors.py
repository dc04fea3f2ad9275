"""Domain exceptions. Core code raises these; only the CLI turns them into messages and exit codes."""

import sqlite3


class TodochatError(Exception):
    """Base of every expected failure; its message is one line a user can act on."""

    exit_code = 1


class ConfigError(TodochatError):
    """A setting has a value we cannot use. Reported like a usage error."""

    exit_code = 2


class AppDatabaseError(TodochatError):
    """The app database failed: unreachable server, read-only file, bad path."""


class CommitUnknownError(AppDatabaseError):
    """The connection dropped during COMMIT: the transaction may or may not have gone through."""


class MessageNotSavedError(AppDatabaseError):
    """The user's message is not in the log: callers say so and keep the text."""


class InvalidInputError(TodochatError):
    """A value the user gave cannot be stored (too long, empty)."""


class NotFoundError(TodochatError):
    """A conversation, task or session the user named does not exist (for this user)."""


class NothingChangedError(TodochatError):
    """A change that would leave the task as it is (reopen an open task): refused, so no
    reply claims it and no undo has to revert it."""


class AmbiguousError(TodochatError):
    """A short id prefix matches more than one conversation."""


class ModelError(TodochatError):
    """The model could not answer: network, key, rate limit, timeout or a bad response."""


class MemoryStoreError(TodochatError):
    """The agent-memory database could not be used (locked for too long, unreadable)."""


class ConflictError(TodochatError):
    """A change would overwrite someone else's later change (undo across another conversation)."""


def memory_failure(exc: BaseException, path: str) -> MemoryStoreError:
    """What SQLite or the file system raised about the agent-memory file, in one wording.

    The one place that turns those failures into a line a user can act on.
    """
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, MemoryStoreError):
        return exc
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text.lower():
        return MemoryStoreError(f"agent memory {path} is locked by another process; try again")
    if "disk is full" in text or getattr(exc, "errno", None) == 28:  # ENOSPC
        return MemoryStoreError(f"agent memory {path}: the disk is full")
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return MemoryStoreError(
            f"agent memory {path} is unreadable ({text}); "
            "`todochat sessions repair --move-aside` sets it aside"
        )
    if isinstance(exc, OSError):
        return MemoryStoreError(f"agent memory {path}: {exc.strerror or text}")
    return MemoryStoreError(f"agent memory {path}: {text}")
