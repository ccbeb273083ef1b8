"""Turn wire failures into our typed errors, with the status kept and the api key never shown."""

from __future__ import annotations

from typing import Any

from msagent.errors import ModelAuthError, ModelError, ModelTimeoutError, ModelUnreachableError


def redact(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` replaced, so keys echoed back by a server never reach logs."""
    if secret and secret != "EMPTY" and len(secret) >= 4:
        text = text.replace(secret, "***")
    return text


def retry_after_s(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (the number form; dates are rare on model servers)."""
    try:
        value = headers.get("retry-after") or headers.get("Retry-After")
        return max(0.0, float(value)) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def status_error(
    status: int,
    message: str,
    *,
    url: str,
    model: str,
    api_key: str | None = None,
    retry_after: float | None = None,
) -> ModelError:
    """An error answered by the server: 401/403 → ``ModelAuthError``, others → ``ModelError``."""
    message = redact(message, api_key)
    if status in (401, 403):
        return ModelAuthError(
            f"the model server at {url} refused the credentials (HTTP {status}): {message}; "
            "check the api_key or its environment variable",
            status_code=status,
            model=model,
        )
    details: dict[str, Any] = {"status_code": status, "model": model}
    if retry_after is not None:
        details["retry_after_s"] = retry_after
    return ModelError(f"model {model!r} at {url} failed with HTTP {status}: {message}", **details)


def unreachable_error(url: str, model: str, cause: object) -> ModelUnreachableError:
    return ModelUnreachableError(
        f"cannot reach the model server at {url} ({type(cause).__name__}); start the server or fix api_base",
        status_code=None,
        model=model,
        url=url,
    )


def timeout_error(url: str, model: str, timeout: float) -> ModelTimeoutError:
    return ModelTimeoutError(
        f"model {model!r} at {url} did not answer within {timeout:g} s; raise 'timeout' in the llm config "
        "or check the server",
        status_code=None,
        model=model,
        timeout=timeout,
    )
