"""Settings: one resolver with explicit precedence (flag > environment > .env > default).

Library code never reads `.env` itself; the CLI calls `load_dotenv()` (the process environment
wins) and then `get_settings()`. `settings` is the resolved, cached instance the spec imports.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from todochat.errors import ConfigError

DEFAULT_OPENAI_MODEL = "gpt-5-mini"
OFFLINE_MODEL = "offline"
OPENAI_APIS = ("responses", "chat_completions")


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. The API key is kept out of `repr` so it never reaches logs."""

    data_dir: str
    database_url: str
    agent_session_db_path: str
    agent_session_max_messages: int
    agent_session_retention_days: int
    agent_session_cleanup_hour: int
    user: str
    model: str
    openai_base_url: str | None
    openai_api: str
    tracing: bool
    history_file: str
    openai_api_key: str | None = field(default=None, repr=False)
    timezone: str | None = None  # IANA name; None: the operating system's zone

    @property
    def memory_is_ephemeral(self) -> bool:
        """True when agent memory lives in RAM and is lost on exit (spec troubleshooting)."""
        return self.agent_session_db_path == ":memory:"


def _get(env: Mapping[str, str], key: str) -> str | None:
    value = env.get(key)
    return value.strip() if value is not None and value.strip() != "" else None


def _int(env: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    """A whole number within [low, high]; the error names the key and the range."""
    raw = _get(env, key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], key: str) -> bool:
    raw = (_get(env, key) or "0").lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key} must be true or false, got {raw!r}")


def normalize_database_url(url: str, key: str = "DATABASE_URL") -> str:
    """Accept `postgres://`, `postgresql://` and `postgresql+psycopg://`; drive all with psycopg 3.

    Parsed by hand, not by SQLAlchemy, so commands that never open the app database stay fast.
    """
    scheme, sep, rest = url.partition("://")
    backend = scheme.split("+", 1)[0].lower()
    if not sep or not scheme:
        raise ConfigError(f"{key} is not a database URL: {_redact(url)!r}")
    if backend in ("postgres", "postgresql"):
        try:
            urlsplit(f"postgresql://{rest}").port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ConfigError(f"{key} is not a database URL: {_redact(url)!r}") from None
        return f"postgresql+psycopg://{rest}"
    if backend == "sqlite":
        return url
    raise ConfigError(f"{key} must be a postgresql:// or sqlite:/// URL, got {backend!r}")


def _redact(url: str) -> str:
    """Hide a password embedded in a URL before it is shown in an error."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def _default_model(env: Mapping[str, str]) -> str:
    return DEFAULT_OPENAI_MODEL if _get(env, "OPENAI_API_KEY") else OFFLINE_MODEL


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "me"


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Resolve settings from `environ` (default: the process environment) and CLI overrides."""
    env = os.environ if environ is None else environ
    data_dir = _get(env, "TODOCHAT_DATA_DIR") or "./data"
    database_url = _get(env, "DATABASE_URL") or f"sqlite:///{Path(data_dir) / 'todochat.db'}"
    base_url = _get(env, "OPENAI_BASE_URL")
    if base_url and not base_url.startswith(("http://", "https://")):
        # Not echoed: a mistyped value may be a key pasted into the wrong variable.
        raise ConfigError("OPENAI_BASE_URL must start with http:// or https://")
    api = _get(env, "TODOCHAT_OPENAI_API") or ("chat_completions" if base_url else "responses")
    if api not in OPENAI_APIS:
        # Not echoed either: a key pasted here would be printed.
        raise ConfigError(f"TODOCHAT_OPENAI_API must be one of {', '.join(OPENAI_APIS)}")
    resolved = Settings(
        data_dir=data_dir,
        database_url=normalize_database_url(database_url),
        agent_session_db_path=_get(env, "AGENT_SESSION_DB_PATH")
        or str(Path(data_dir) / "agent_sessions.db"),
        agent_session_max_messages=_int(env, "AGENT_SESSION_MAX_MESSAGES", 200, 2, 100_000),
        agent_session_retention_days=_int(env, "AGENT_SESSION_RETENTION_DAYS", 7, 0, 36_500),
        agent_session_cleanup_hour=_int(env, "AGENT_SESSION_CLEANUP_HOUR", 2, 0, 23),
        user=_get(env, "TODOCHAT_USER") or _login_name(),
        model=_get(env, "TODOCHAT_MODEL") or _default_model(env),
        openai_base_url=base_url,
        openai_api=api,
        tracing=_bool(env, "TODOCHAT_TRACING"),
        history_file=_get(env, "TODOCHAT_HISTORY_FILE") or str(Path(data_dir) / "chat_history"),
        openai_api_key=_get(env, "OPENAI_API_KEY"),
        timezone=_timezone(env),
    )
    present = {k: v for k, v in (overrides or {}).items() if v is not None}
    resolved = replace(resolved, **present) if present else resolved
    check_user_name(resolved.user, "--user" if "user" in present else "TODOCHAT_USER")
    if not resolved.model.strip():
        raise ConfigError("--model must not be empty")
    return resolved


def _timezone(env: Mapping[str, str]) -> str | None:
    name = _get(env, "TODOCHAT_TIMEZONE")
    if name is not None:
        from todochat.errors import InvalidInputError
        from todochat.tasks.dates import timezone_named

        try:
            timezone_named(name)
        except InvalidInputError:
            raise ConfigError(
                f"TODOCHAT_TIMEZONE must be an IANA time zone such as Europe/Paris, got {name!r}"
            ) from None
    return name


USER_NAME_LENGTH = 200


def check_user_name(name: str, key: str) -> None:
    """A user name is what separates one person's data from another's: no blanks, no junk
    (`ConfigError` naming `key` otherwise; `import` checks the names in a file with it)."""
    if not name.strip():
        raise ConfigError(f"{key} must not be empty")
    if len(name) > USER_NAME_LENGTH:
        raise ConfigError(f"{key} is at most {USER_NAME_LENGTH} characters")
    if name != name.strip() or any(not c.isprintable() for c in name):
        raise ConfigError(f"{key} must be printable, without leading or trailing spaces")


_cached: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, resolved once on first use."""
    global _cached
    if _cached is None:
        _cached = load_settings()
    return _cached


def reset_settings() -> None:
    """Forget the cached settings (after `load_dotenv()` or in tests)."""
    global _cached
    _cached = None


def __getattr__(name: str) -> Settings:
    # `from todochat.config import settings`, as in the spec, resolves lazily so that importing
    # this module never fails on a bad environment variable.
    if name == "settings":
        return get_settings()
    raise AttributeError(name)
