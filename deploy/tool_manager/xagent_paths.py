"""XAgent's client calls the root paths, some of which the seed's API also has: this ASGI wrapper
sends XAgent's requests to the router under ``/xagent`` and leaves the seed's alone.

- XAgent-only paths (``/get_cookie``, ``/upload_file``, ``/close_session``, ...) and
  ``POST /get_available_tools`` always go to XAgent's router;
- the shared ``/execute_tool``, ``GET /get_available_tools``, ``/get_json_schema_for_tools`` and
  ``/retrieving_tools`` go there when the request carries a session cookie (``node_id``), and
  ``/execute_tool`` also when its body has XAgent's ``arguments`` and not the seed's ``params`` (it is
  then told that its cookie is missing, rather than run as a seed call).
"""

from __future__ import annotations

import json
from typing import Any

ONLY = {"/get_cookie", "/get_cookies", "/get_json_schema_for_envs", "/close_session", "/release_session",
        "/upload_file", "/download_file", "/get_workspace_structure", "/download_workspace"}
SHARED = {"/execute_tool", "/get_available_tools", "/get_json_schema_for_tools", "/retrieving_tools"}
_PEEK_LIMIT = 1 << 20


def _route_path(scope: dict) -> tuple[str, str]:
    """(root_path, the path below it), as Starlette's router splits them."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return root, path[len(root):]
    return "", path


def _has_cookie(scope: dict) -> bool:
    return any(k == b"cookie" and b"node_id=" in v for k, v in scope.get("headers", []))


def _is_xagent_body(body: bytes) -> bool:
    if b'"arguments"' not in body:
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and "arguments" in data and "params" not in data


class XAgentPaths:
    def __init__(self, app: Any, prefix: str) -> None:
        self.app, self.prefix = app, prefix

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            root, path = _route_path(scope)
            clean = path.rstrip("/") or "/"
            method = scope.get("method", "GET")
            if clean in ONLY or (clean == "/get_available_tools" and method == "POST") \
                    or (clean in SHARED and _has_cookie(scope)):
                scope = self._moved(scope, root, clean)
            elif clean == "/execute_tool" and method == "POST":
                body, receive = await _peek(receive, scope)
                if body is not None and _is_xagent_body(body):
                    scope = self._moved(scope, root, clean)
        await self.app(scope, receive, send)

    def _moved(self, scope: dict, root: str, path: str) -> dict:
        new = root + self.prefix + path
        return {**scope, "path": new, "raw_path": new.encode()}


async def _peek(receive: Any, scope: dict) -> tuple[bytes | None, Any]:
    """The request body (when small) and a ``receive`` that replays it."""
    length = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
    if length is None or not length.isdigit() or int(length) > _PEEK_LIMIT:
        return None, receive
    chunks, more = [], True
    messages = []
    while more:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)

    async def replay() -> Any:
        return messages.pop(0) if messages else await receive()

    return b"".join(chunks), replay
