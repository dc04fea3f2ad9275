"""The spec's import path for agent sessions (`todochat.agent.session`); see `todochat.memory`."""

from todochat.memory.sdk import get_agent_session, get_session_id

__all__ = ["get_agent_session", "get_session_id"]
