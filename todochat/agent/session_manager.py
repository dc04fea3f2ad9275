"""The spec's import path for `SessionManager` (`todochat.agent.session_manager`)."""

from todochat.memory.manager import SessionManager

__all__ = ["SessionManager"]
