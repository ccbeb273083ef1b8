"""OpenAI's error envelope ``{"error": {"message", "type", "param", "code"}}`` for every failure.

The official SDK turns the status code into its typed exception (400 BadRequestError, 401
AuthenticationError, ...) and shows ``message``; so every error we answer has both right.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from deploy.openapi_errors import responses
from msagent.errors import (
    ConfigError,
    MissingApiKeyError,
    ModelAuthError,
    ModelError,
    ModelTimeoutError,
    ModelUnreachableError,
    MsagentError,
    ToolError,
)

logger = logging.getLogger(__name__)

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """OpenAI's error envelope, the body of every error status."""

    error: ErrorDetail


# what any route may answer
COMMON_ERRORS = {
    400: "invalid request (the message and param name the field)",
    405: "method not allowed for this path",
    413: "request body over the limit (max_request_bytes, default 8 MB)",
    500: "internal error",
}
_UPSTREAM = {
    401: "the model back end refused the key",
    403: "the model back end refused the key",
    404: "the model back end does not know the model",
    429: "the model back end's rate limit",
    502: "the model back end is unreachable, failed, or answered something malformed",
    504: "the model back end did not answer in time",
}
CHAT_ERRORS = responses(ErrorBody, {**_UPSTREAM, 422: "the model back end refused the request as sent"})
MODELS_ERRORS = responses(ErrorBody, {401: _UPSTREAM[401], 502: _UPSTREAM[502], 504: _UPSTREAM[504]})


class APIError(Exception):
    """An HTTP error with OpenAI's body; raise it anywhere in a handler."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None, type: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type or _TYPES.get(status, "api_error" if status < 500 else "server_error")

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


def bad_request(message: str, param: str | None = None, code: str | None = "invalid_value") -> APIError:
    return APIError(400, message, param=param, code=code)


def from_exception(exc: BaseException) -> APIError:
    """Map our typed errors the way OpenAI maps upstream failures (never a bare 500)."""
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, ModelError):
        upstream = exc.details.get("status_code")
        if isinstance(exc, ModelAuthError) or upstream in (401, 403):
            status = upstream if upstream in (401, 403) else 401
            return APIError(status, f"model back-end rejected the key: {exc.message}", code="invalid_api_key")
        if isinstance(exc, ModelTimeoutError):
            return APIError(504, f"model back-end timed out: {exc.message}", code="upstream_timeout", type="api_error")
        if isinstance(exc, ModelUnreachableError):
            return APIError(502, f"model back-end unreachable: {exc.message}", code="upstream_unreachable", type="api_error")
        if isinstance(upstream, int) and 400 <= upstream < 500:
            # the back-end refused the request as sent: the caller's to fix (429 stays 429)
            return APIError(upstream, f"model back-end: {exc.message}", code="upstream_error")
        return APIError(502, f"model back-end failed: {exc.message}", code="upstream_error", type="api_error")
    if isinstance(exc, MissingApiKeyError):
        return APIError(401, exc.message, code="missing_api_key")
    if isinstance(exc, (ConfigError, ToolError)):
        return APIError(400, exc.message, code=type(exc).__name__)
    if isinstance(exc, MsagentError):
        return APIError(500, exc.message, code=type(exc).__name__, type="server_error")
    if isinstance(exc, httpx.TransportError):  # the SDK path's connection broke mid-answer
        return APIError(502, f"model back-end connection failed: {type(exc).__name__}: {exc}",
                        code="upstream_unreachable", type="api_error")
    logger.exception("unexpected error", exc_info=exc)
    return APIError(500, f"internal error: {type(exc).__name__}: {exc}", code="internal_error", type="server_error")


_LOCATIONS = ("body", "query", "path", "form", "header", "cookie")
# pydantic puts the tried member of a union into ``loc`` ('str', 'list[str]', 'function-after[...]'):
# a client's field names never look like these
_UNION_TAG = re.compile(r"^(str|int|float|bool|dict|list|none)$|[\[\],]")


def _loc_param(loc: tuple[Any, ...]) -> str | None:
    """``('body', 'messages', 0, 'role')`` -> ``messages[0].role``; only the first element is a
    location (a field may itself be called ``query`` or ``body``)."""
    parts = [str(p) for p in (loc[1:] if loc and loc[0] in _LOCATIONS else loc)]
    out = ""
    for p in parts:
        if _UNION_TAG.search(p):
            continue
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or None


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None, str]:
    errors = exc.errors()
    if not errors:
        return "invalid request", None, "invalid_request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return f"the request body is not valid JSON: {first.get('ctx', {}).get('error', '')}", None, "invalid_json"
    param = _loc_param(tuple(first.get("loc", ())))
    if first.get("type") == "missing":
        if param is None:
            return "the request body is missing: send a JSON object", None, "missing_required_parameter"
        return f"missing required field {param!r}", param, "missing_required_parameter"
    msg = str(first.get("msg", "invalid value"))
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    what = repr(param) if param else "the request body"
    return f"invalid value for {what}: {msg}{more}", param, "invalid_value"


def install(app: FastAPI) -> None:
    """Route validation errors, HTTP errors and back-end failures to the envelope."""

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param, code = _validation_message(exc)
        return APIError(400, message, param=param, code=code).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return APIError(exc.status_code, detail).response()

    @app.exception_handler(MsagentError)
    async def _msagent(request: Request, exc: MsagentError) -> JSONResponse:
        return from_exception(exc).response()

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception) -> JSONResponse:
        return from_exception(exc).response()
