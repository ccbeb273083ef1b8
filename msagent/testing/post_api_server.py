"""A fake HTTP model API reached by one POST (AgentScope's ``post_api``): HuggingFace's inference
API shape by default (``[{"generated_text": ...}]``), or whatever ``shape(text)`` builds.

with FakePostAPIServer(replies=["hi"]) as server:
    httpx.post(server.url, json={"inputs": [...]}).json()   # [{"generated_text": "hi"}]
    server.requests, server.headers                          # what arrived
Replies run out -> HTTP 500 unless ``cycle=True``; a non-JSON body -> HTTP 400.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from msagent.testing.http import BackgroundServer, JsonHandler
from msagent.testing.reply import FakeReply, Handler, ReplySource


def huggingface_shape(text: str) -> Any:
    return [{"generated_text": text}]


class _PostHandler(JsonHandler):
    server_owner: FakePostAPIServer

    def do_POST(self) -> None:  # noqa: N802  (stdlib name)
        owner = self.server_owner
        try:
            body = self.read_json()
        except ValueError:
            self.send_json(400, {"error": "the request body is not valid JSON"})
            return
        owner.record(body if isinstance(body, dict) else {"body": body}, dict(self.headers.items()))
        reply = owner.source.next(body if isinstance(body, dict) else {})
        if reply.status != 200:
            self.send_json(reply.status, {"error": reply.error_message or f"fake error {reply.status}"})
            return
        self.send_json(200, owner.shape(reply.text))


class FakePostAPIServer(BackgroundServer):
    handler_class = _PostHandler

    def __init__(
        self,
        replies: Sequence[FakeReply | str] | None = None,
        *,
        handler: Handler | None = None,
        cycle: bool = False,
        shape: Callable[[str], Any] = huggingface_shape,
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.source = ReplySource(replies, handler, cycle)
        self.shape = shape

    @property
    def url(self) -> str:
        return f"{self.address}/models/fake"
