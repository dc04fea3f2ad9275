"""Where everything is: what `todochat info` shows (like `llm logs path`, aichat `--info`)."""

from __future__ import annotations

from typing import Any

from todochat.config import Settings, hide_password


def locations(settings: Settings) -> dict[str, Any]:
    """Each file and setting that says where data lives or goes; passwords hidden."""
    from todochat.agent.models import describe_model

    dotenv = settings.dotenv
    return {
        "user": settings.user,
        "data_dir": settings.data_dir,
        "database_url": hide_password(settings.database_url),
        "memory_file": settings.agent_session_db_path,
        "history_file": settings.history_file,
        "dotenv": dotenv.path if dotenv else None,
        "dotenv_keys": sorted(dotenv.keys) if dotenv else [],
        "model": describe_model(settings),
        "api_key": _key_state(settings),
        "earlier_data_dir": settings.legacy_data_dir,
    }


def _key_state(settings: Settings) -> str:
    """Whether a key is sent, never the key: `set`, `none` or `withheld`."""
    if settings.key_withheld:
        return "withheld"
    return "set" if settings.openai_api_key else "none"


LABELS = {
    "user": "User",
    "data_dir": "Data directory",
    "database_url": "App database",
    "memory_file": "Agent memory",
    "history_file": "Input history",
    "dotenv": ".env loaded",
    "model": "Model",
    "api_key": "API key",
    "earlier_data_dir": "Earlier data",
}


def lines(found: dict[str, Any]) -> list[str]:
    """`Label:  value` lines for people; what is unset says so."""
    width = max(len(label) for label in LABELS.values()) + 2
    shown = dict(found)
    if found["dotenv"] and found["dotenv_keys"]:
        shown["dotenv"] = f"{found['dotenv']} (sets {', '.join(found['dotenv_keys'])})"
    if found["api_key"] == "withheld":
        shown["api_key"] = "withheld: OPENAI_BASE_URL comes from .env (TODOCHAT_TRUST_DOTENV=1)"
    return [
        f"{(label + ':').ljust(width)}{shown[key] if shown[key] is not None else 'none'}"
        for key, label in LABELS.items()
        if key != "earlier_data_dir" or shown[key]
    ]
