"""Turn a model failure into one line a user can act on (never the key, never a traceback)."""

from __future__ import annotations

from todochat.errors import ModelError


def describe_model_failure(exc: BaseException, where: str) -> ModelError:
    """Classify SDK and OpenAI client errors without importing either up front."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if name in ("APITimeoutError", "ModelTimeoutError", "TimeoutError"):
        return ModelError(f"the model {where} timed out; try again")
    if name == "APIConnectionError":
        return ModelError(f"cannot reach the model {where} (is the server running?)")
    if name in ("AuthenticationError", "PermissionDeniedError") or status in (401, 403):
        return ModelError(f"the model {where} rejected the API key (check OPENAI_API_KEY)")
    if name == "RateLimitError" or status == 429:
        return ModelError(f"the model {where} is rate limiting requests; wait and try again")
    if name == "NotFoundError" or status == 404:
        return ModelError(f"the model {where} was not found (check TODOCHAT_MODEL)")
    if status is not None:
        return ModelError(f"the model {where} failed with HTTP {status}")
    if name == "MaxTurnsExceeded":
        return ModelError("the model kept calling tools without answering; try rephrasing")
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    return ModelError(f"the model failed: {detail[:200]}")
