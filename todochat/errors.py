"""Domain exceptions. Core code raises these; only the CLI turns them into messages and exit codes."""


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


class AmbiguousError(TodochatError):
    """A short id prefix matches more than one conversation."""


class ModelError(TodochatError):
    """The model could not answer: network, key, rate limit, timeout or a bad response."""


class MemoryStoreError(TodochatError):
    """The agent-memory database could not be used (locked for too long, unreadable)."""
