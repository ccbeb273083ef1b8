"""Request bodies over the limit get 413 before anyone reads them whole.

A declared ``Content-Length`` over the limit is answered at once; a body without one (chunked) is
counted as it arrives and stops at the limit. Uploads (``/v1/files``) have a limit of their own.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deploy.assistant.errors import APIError


def too_large(limit: int) -> str:
    return f"the request body is over the {limit}-byte limit (max_request_bytes)"


class BodyLimit:
    """Pure ASGI (no per-request objects when the declared length is within the limit)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.isdigit() else None
                break
        if length is not None:
            if length > limit:
                await APIError(413, too_large(limit), code="request_too_large").response()(scope, receive, send)
                return
            # the server delivers no more than the declared length
            await self.app(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # FastAPI passes an HTTPException raised while the body is read on to the handlers
                    raise HTTPException(413, too_large(limit))
            return message

        await self.app(scope, counted, send)
