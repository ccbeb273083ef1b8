"""The relay's requests answered below FastAPI: plain ASGI in front of the app.

A ``POST /v1/chat/completions`` that goes to the relay (an OpenAI-compatible back end with native
tools, ``chat.plan``) is checked and answered here: its body is parsed and validated by pydantic in
one pass, and the answer is written straight to the ASGI ``send``. ``app.AssistantAPI`` calls this
first, so the relay skips all of FastAPI's per-request layers (its exception, telemetry and
body-limit middleware, routing, dependency solving, response classes): about a third of the
replica's CPU per request (``benchmarks/bench_assistant.py``). Everything else goes to the app
unchanged; so does any request this path would answer differently: a body that does not validate
(FastAPI's 400 names the field), one over the size limit (the limit's 413), one for another back end.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deploy.assistant.chat import SSE_HEADERS, open_relay, plan, relayed
from deploy.assistant.errors import from_exception
from deploy.assistant.models import ChatCompletionRequest
from deploy.assistant.services import Services
from deploy.assistant.wire_json import dumps

PATH = "/v1/chat/completions"
_JSON = [(b"content-type", b"application/json")]
_SSE = [(b"content-type", b"text/event-stream; charset=utf-8")] + [
    (k.lower().encode(), v.encode()) for k, v in SSE_HEADERS.items()
]


class ChatFastRoute:
    def __init__(self, app: ASGIApp, services: Services, limit: Callable[[], int]) -> None:
        self.app, self.services, self.limit = app, services, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not _is_chat(scope):
            await self.app(scope, receive, send)
            return
        body, whole, within = await _read(scope, receive, self.limit())
        replay = _replay(body, whole, receive)
        if not (whole and within):
            await self.app(scope, replay, send)
            return
        try:
            request = ChatCompletionRequest.model_validate_json(body)
        except ValidationError:
            await self.app(scope, replay, send)
            return
        try:
            p = plan(request, self.services, _bearer(scope))
            if p.route != "relay":
                await self.app(scope, replay, send)
                return
            relay = await open_relay(p, self.services)
            if not request.stream:
                data = dumps(await relay.whole())
        except Exception as e:  # noqa: BLE001  (answered as the app's handlers answer it)
            await from_exception(e).response()(scope, receive, send)
            return
        if not request.stream:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [*_JSON, (b"content-length", str(len(data)).encode())]})
            await send({"type": "http.response.body", "body": data})
            return
        await send({"type": "http.response.start", "status": 200, "headers": _SSE})
        frames = relayed(relay.frames())
        try:
            async for frame in frames:
                await send({"type": "http.response.body", "body": frame, "more_body": True})
        finally:
            await frames.aclose()  # a client gone: the back end's connection is let go
        await send({"type": "http.response.body", "body": b""})


def _is_chat(scope: Scope) -> bool:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root):]
    return path == PATH or path == PATH + "/"


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


async def _read(scope: Scope, receive: Receive, limit: int) -> tuple[bytes, bool, bool]:
    """(what was read, whether that is the whole body, whether it is within ``limit``); reading stops
    at the limit (the app's 413 then counts the rest)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            return b"", False, False
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks), False, True
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        whole = not message.get("more_body", False)
        if size > limit or whole:
            return b"".join(chunks), whole, size <= limit


def _replay(body: bytes, whole: bool, receive: Receive) -> Receive:
    """``receive`` for the app: what was read, then the rest (and a disconnect) as it comes."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not whole}
        return await receive()

    return again
