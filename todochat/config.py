"""Settings: one resolver with explicit precedence (flag > environment > .env > default).

Library code never reads `.env` itself; the CLI calls `load_dotenv()` (the process environment
wins) and then `get_settings()`. `settings` is the resolved, cached instance the spec imports.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from todochat.errors import ConfigError, InvalidInputError

DEFAULT_OPENAI_MODEL = "gpt-5-mini"
OFFLINE_MODEL = "offline"
OPENAI_APIS = ("responses", "chat_completions")


@dataclass(frozen=True)
class DotEnv:
    """A `.env` file the CLI loaded, and the keys it set (those the environment had not)."""

    path: str
    keys: frozenset[str]

    def sets(self, key: str) -> bool:
        return key in self.keys


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
    dotenv: DotEnv | None = None  # the `.env` the CLI loaded, if any
    key_withheld: bool = False  # OPENAI_API_KEY not sent to a base URL from an unconfirmed .env
    legacy_data_dir: str | None = None  # `./data` of an earlier version, left where it was

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
        raise ConfigError(f"{key} is not a database URL: {hide_password(url)!r}")
    if backend in ("postgres", "postgresql"):
        rest = _encoded_userinfo(rest)
        try:
            urlsplit(f"postgresql://{rest}").port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ConfigError(f"{key} is not a database URL: {hide_password(url)!r}") from None
        return f"postgresql+psycopg://{rest}"
    if backend == "sqlite":
        return url
    raise ConfigError(f"{key} must be a postgresql:// or sqlite:/// URL, got {backend!r}")


def _encoded_userinfo(rest: str) -> str:
    """`user:pass@host/db` with `@` and `:` in the password percent-encoded.

    The credentials end at the last `@` before the path (as `urlsplit` reads them), while
    SQLAlchemy ends them at the first: `me:p@ss:w0rd@host` must mean host `host` to both.
    """
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, host = rest[:cut].rpartition("@")
    if not at:
        return rest
    user, colon, password = userinfo.partition(":")
    encoded = quote(unquote(user), safe="") + (colon + quote(unquote(password), safe=""))
    return f"{encoded}@{host}{rest[cut:]}"


# Query parameters whose values are credentials (libpq's `password`, API keys in base URLs).
_SECRET_PARAMS = re.compile(
    r"([?&;](?:password|passwd|pwd|sslpassword|secret|token|api[_-]?key|key)=)[^&;#]*",
    re.IGNORECASE,
)


def hide_password(url: str) -> str:
    """`url` as it may be shown: the password of `user:password@` and the values of
    password-like query parameters replaced by `***`. When unsure where the credentials
    end (an `@` in the path), more is hidden rather than less."""
    scheme, sep, rest = url.partition("://") if "://" in url else ("", "", url)
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        rest = f"{credentials.split(':', 1)[0]}:***@{host}"
    return _SECRET_PARAMS.sub(r"\1***", f"{scheme}{sep}{rest}")


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "me"


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    dotenv: DotEnv | None = None,
) -> Settings:
    """Resolve settings from `environ` (default: the process environment, and the `.env`
    the CLI loaded into it) and CLI overrides."""
    env = os.environ if environ is None else environ
    dotenv = _loaded_dotenv if environ is None and dotenv is None else dotenv
    data_dir = _get(env, "TODOCHAT_DATA_DIR") or default_data_dir(env)
    database_url = _get(env, "DATABASE_URL") or f"sqlite:///{Path(data_dir) / 'todochat.db'}"
    base_url = _base_url(env)
    api = _get(env, "TODOCHAT_OPENAI_API") or ("chat_completions" if base_url else "responses")
    if api not in OPENAI_APIS:
        # Not echoed either: a key pasted here would be printed.
        raise ConfigError(f"TODOCHAT_OPENAI_API must be one of {', '.join(OPENAI_APIS)}")
    withheld = _withholds_key(env, dotenv)
    key = None if withheld else _get(env, "OPENAI_API_KEY")
    resolved = Settings(
        data_dir=data_dir,
        database_url=normalize_database_url(database_url),
        agent_session_db_path=_get(env, "AGENT_SESSION_DB_PATH")
        or str(Path(data_dir) / "agent_sessions.db"),
        agent_session_max_messages=_int(env, "AGENT_SESSION_MAX_MESSAGES", 200, 2, 100_000),
        agent_session_retention_days=_int(env, "AGENT_SESSION_RETENTION_DAYS", 7, 0, 36_500),
        agent_session_cleanup_hour=_int(env, "AGENT_SESSION_CLEANUP_HOUR", 2, 0, 23),
        user=_get(env, "TODOCHAT_USER") or _login_name(),
        model=_get(env, "TODOCHAT_MODEL") or (DEFAULT_OPENAI_MODEL if key else OFFLINE_MODEL),
        openai_base_url=base_url,
        openai_api=api,
        tracing=_bool(env, "TODOCHAT_TRACING"),
        history_file=_get(env, "TODOCHAT_HISTORY_FILE") or "",
        openai_api_key=key,
        timezone=_timezone(env),
        dotenv=dotenv,
        key_withheld=withheld,
        legacy_data_dir=None if _get(env, "TODOCHAT_DATA_DIR") else _legacy_data(data_dir),
    )
    present = {k: v for k, v in (overrides or {}).items() if v is not None}
    resolved = replace(resolved, **present) if present else resolved
    check_user_name(resolved.user, "--user" if "user" in present else "TODOCHAT_USER")
    if not resolved.model.strip():
        raise ConfigError("--model must not be empty")
    if not resolved.history_file:
        resolved = replace(resolved, history_file=history_file_for(data_dir, resolved.user))
    return resolved


def _base_url(env: Mapping[str, str]) -> str | None:
    base_url = _get(env, "OPENAI_BASE_URL")
    if base_url and not base_url.startswith(("http://", "https://")):
        # Not echoed: a mistyped value may be a key pasted into the wrong variable.
        raise ConfigError("OPENAI_BASE_URL must start with http:// or https://")
    return base_url


def _withholds_key(env: Mapping[str, str], dotenv: DotEnv | None) -> bool:
    """Whether OPENAI_API_KEY must not go to OPENAI_BASE_URL: the URL came from a `.env`
    (any directory's: a cloned repository's, a shared folder's) and the key did not.

    The same `.env` setting the key too, or TODOCHAT_TRUST_DOTENV=1 in the environment (a
    `.env` cannot vouch for itself), confirms it.
    """
    trusted = _bool(env, "TODOCHAT_TRUST_DOTENV") and not (
        dotenv is not None and dotenv.sets("TODOCHAT_TRUST_DOTENV")
    )
    if dotenv is None or not dotenv.sets("OPENAI_BASE_URL") or dotenv.sets("OPENAI_API_KEY"):
        return False
    return bool(_get(env, "OPENAI_API_KEY")) and not trusted


APP_NAME = "todochat"
# What an earlier version kept in `./data` of the working directory.
LEGACY_FILES = ("todochat.db", "agent_sessions.db", "chat_history")


def default_data_dir(env: Mapping[str, str]) -> str:
    """The per-user data directory of the XDG base directory spec: `$XDG_DATA_HOME/todochat`
    (an absolute path), else `~/.local/share/todochat`."""
    base = _get(env, "XDG_DATA_HOME")
    if base is None or not os.path.isabs(base):
        base = str(Path(_get(env, "HOME") or Path.home()) / ".local" / "share")
    return str(Path(base) / APP_NAME)


def _legacy_data(data_dir: str) -> str | None:
    """`./data` when it holds an earlier version's files and is not the data dir in use."""
    old = Path("data").absolute()
    if not any((old / name).is_file() for name in LEGACY_FILES):
        return None
    return None if old.resolve() == Path(data_dir).resolve() else str(old)


def history_file_for(data_dir: str, user: str) -> str:
    """Each user's own input history: `<data dir>/history/<name>`; a name that is not a
    plain file name (or could collide on a case-insensitive disk) goes by its user id."""
    if re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,63}", user):
        name = user
    else:
        from todochat.identity import user_id_for

        name = f"user-{user_id_for(user).hex}"
    return str(Path(data_dir) / "history" / name)


def _timezone(env: Mapping[str, str]) -> str | None:
    name = _get(env, "TODOCHAT_TIMEZONE")
    if name is not None:
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
_loaded_dotenv: DotEnv | None = None


def record_dotenv(loaded: DotEnv | None) -> None:
    """What the CLI loaded from `.env`, for settings to say where a value came from."""
    global _loaded_dotenv
    _loaded_dotenv = loaded


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
