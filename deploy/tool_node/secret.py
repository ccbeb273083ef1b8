"""The node's secret: set by its manager at creation (``TOOL_NODE_SECRET``) and required on every
request as ``Authorization: Bearer <secret>``, so no other local process can call a tenant's node.

A pure ASGI wrapper (no per-request task or body buffering); the comparison is constant-time.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

SECRET_ENV = "TOOL_NODE_SECRET"


def auth_header(secret: str | None) -> dict[str, str]:
    """What the manager sends with every call to a node."""
    return {"Authorization": f"Bearer {secret}"} if secret else {}


class RequireSecret:
    def __init__(self, app: Any, secret: str) -> None:
        if not secret:
            raise ValueError("a node secret must not be empty")
        self.app = app
        self._expected = f"Bearer {secret}".encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        got = next((v for k, v in scope.get("headers", []) if k == b"authorization"), b"")
        if hmac.compare_digest(got, self._expected):
            await self.app(scope, receive, send)
            return
        why = "missing" if not got else "wrong"
        body = json.dumps({"detail": f"{why} node secret: this tool node answers only its tool manager",
                           "error": "Unauthorized"}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body})
