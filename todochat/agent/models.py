"""Model selection: OpenAI, any OpenAI-compatible server, or the built-in offline model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from todochat.config import OFFLINE_MODEL, Settings, get_settings
from todochat.errors import ConfigError

if TYPE_CHECKING:
    from agents.models.interface import Model

# A local server (Ollama, vLLM, LM Studio) ignores the key, but the client insists on one.
PLACEHOLDER_KEY = "not-needed"


def configure_sdk(settings: Settings) -> None:
    """Tracing export talks to OpenAI: off unless asked for and a key is present. The SDK's
    log records go nowhere unless configured: a failure is reported once, in our words
    (Python's last-resort handler printed "Error streaming response" above it)."""
    import logging

    from agents import set_tracing_disabled

    set_tracing_disabled(not (settings.tracing and settings.openai_api_key))
    sdk_log = logging.getLogger("openai.agents")
    if not sdk_log.handlers:
        sdk_log.addHandler(logging.NullHandler())


def check_model(settings: Settings, name: str | None = None) -> None:
    """Raise `ConfigError` if `name` cannot run with these settings (before any turn starts)."""
    name = name or settings.model
    if name != OFFLINE_MODEL and not (settings.openai_api_key or settings.openai_base_url):
        raise ConfigError(
            f"model {name!r} needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server); "
            "use TODOCHAT_MODEL=offline to run without one"
        )


def offline_by_default(settings: Settings, environ: Mapping[str, str]) -> str | None:
    """The note for someone who set OPENAI_BASE_URL but named no model: the offline model
    answers then, which nothing else would tell them. None when a model was named."""
    if settings.model != OFFLINE_MODEL or not settings.openai_base_url:
        return None
    if (environ.get("TODOCHAT_MODEL") or "").strip():
        return None
    return (
        "Note: OPENAI_BASE_URL is set but TODOCHAT_MODEL is not, so the built-in offline "
        "model answers; set TODOCHAT_MODEL to a model the server serves."
    )


def resolve_model(settings: Settings, name: str | None = None) -> Model:
    """The `Model` for `name` (default: settings.model)."""
    name = name or settings.model
    check_model(settings, name)
    if name == OFFLINE_MODEL:
        from todochat.agent.offline import OfflineModel

        return OfflineModel()
    from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient

    from todochat.agent.stream_check import CheckedTransport

    client = AsyncOpenAI(
        api_key=settings.openai_api_key or PLACEHOLDER_KEY,
        base_url=settings.openai_base_url,
        max_retries=1,
        timeout=60,
        # Each reply stream is checked for its end mark: a cut one is marked incomplete.
        http_client=DefaultAsyncHttpxClient(transport=CheckedTransport()),
    )
    if settings.openai_api == "chat_completions":
        return OpenAIChatCompletionsModel(model=name, openai_client=client)
    return OpenAIResponsesModel(model=name, openai_client=client)


def describe_model(settings: Settings, name: str | None = None) -> str:
    """How the toolbar and errors name the model (never with the key or URL credentials)."""
    name = name or settings.model
    if name == OFFLINE_MODEL:
        return "offline"
    where = _without_credentials(settings.openai_base_url) if settings.openai_base_url else "OpenAI"
    return f"{name} @ {where}"


def _without_credentials(url: str) -> str:
    """The URL without `user:pass@` and without a query string (which may carry a key)."""
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme}{sep}{host.rsplit('@', 1)[-1]}{slash}{path.split('?', 1)[0]}"


def configured_model() -> Model:
    """A model that resolves from settings on first use, so `todo_agent` works as in the spec."""
    from agents.models.interface import Model

    class ConfiguredModel(Model):
        _model: Model | None = None

        def _resolved(self) -> Model:
            if self._model is None:
                self._model = resolve_model(get_settings())
            return self._model

        async def get_response(self, *args, **kwargs):
            return await self._resolved().get_response(*args, **kwargs)

        def stream_response(self, *args, **kwargs):
            return self._resolved().stream_response(*args, **kwargs)

    return ConfiguredModel()
