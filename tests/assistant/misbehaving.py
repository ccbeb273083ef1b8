"""An OpenAI-compatible back end that breaks the protocol on purpose (imported by name: pytest puts
this folder on sys.path). ``mode`` picks the failure; "ok" answers correctly, with ``logprobs`` and
``service_tier`` in the answer, so that a relay that drops them is caught too."""

from __future__ import annotations

import json
from typing import Any

from msagent.testing.http import BackgroundServer, JsonHandler

CHUNK = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 0, "model": "broken"}
LOGPROBS = {"content": [{"token": "ok", "logprob": -0.25, "bytes": [111, 107], "top_logprobs": []}], "refusal": None}


def frame(delta: dict[str, Any], finish: str | None = None) -> str:
    return f"data: {json.dumps({**CHUNK, 'choices': [{'index': 0, 'delta': delta, 'finish_reason': finish}]})}\n\n"


class _Handler(JsonHandler):
    server_owner: MisbehavingServer

    def do_GET(self) -> None:  # noqa: N802  (stdlib name)
        mode = self.server_owner.mode
        if mode == "non_json":
            self._raw(200, b"<html>gateway says hi</html>", "text/html")
        else:
            self.send_json(200, {"object": "list", "data": [{"id": "broken-a", "object": "model", "created": 1,
                                                            "owned_by": "me"}, {"id": "broken-b", "object": "model"}]})

    def _raw(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        body = self.read_json()
        self.server_owner.record(body, dict(self.headers.items()))
        mode = self.server_owner.mode
        if not body.get("stream"):
            if mode == "non_json":
                self._raw(200, b"<html>502 Bad Gateway</html>", "text/html")
            elif mode == "no_choices":
                self.send_json(200, {"id": "chatcmpl-x", "object": "chat.completion", "choices": []})
            else:
                message = {"role": "assistant", "content": "ok"}
                self.send_json(200, {"id": "chatcmpl-x", "object": "chat.completion", "created": 0, "model": "broken",
                                     "service_tier": "default", "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                                                                          "total_tokens": 2},
                                     "choices": [{"index": 0, "message": message, "finish_reason": "stop",
                                                  "logprobs": LOGPROBS}]})
            return
        self.start_stream()
        self.write_chunk(frame({"role": "assistant", "content": ""}))
        self.write_chunk(frame({"content": "The answer is"}))
        if mode == "cut_off":  # the back end dies mid-answer: no final chunk, the connection just closes
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "bad_frame":
            self.write_chunk("data: {not json\n\n")
        elif mode == "error_frame":
            self.write_chunk('data: {"error": {"message": "the GPU fell over", "type": "server_error"}}\n\n')
        elif mode == "ok":
            self.write_chunk(frame({"content": " 42."}, "stop"))
            self.write_chunk("data: [DONE]\n\n")
        # "no_done": a complete HTTP body that stops before the answer ends
        self.end_stream()


class _Misbehaving(BackgroundServer):
    """A fake back end broken in one way, ``mode``."""

    def __init__(self, mode: str = "ok") -> None:
        super().__init__()
        self.mode = mode


class MisbehavingServer(_Misbehaving):
    base_path = "/v1"
    handler_class = _Handler


def ds_event(n: int, content: str, finish: str = "null") -> str:
    data = {"output": {"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": finish}]},
            "usage": {"input_tokens": 3, "output_tokens": n, "total_tokens": 3 + n}, "request_id": "r-1"}
    return f"id:{n}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(data)}\n\n"


class _DashScopeHandler(JsonHandler):
    """DashScope's text-generation API as its SDK calls it, broken the same ways (``mode``)."""

    server_owner: MisbehavingDashScope

    def do_POST(self) -> None:  # noqa: N802
        body = self.read_json()
        self.server_owner.record(body, dict(self.headers.items()))
        mode = self.server_owner.mode
        streaming = (self.headers.get("X-DashScope-SSE") or "").lower() == "enable"
        if not streaming:
            if mode == "non_json":
                self._raw(b"<html>502 Bad Gateway</html>", "text/html")
            elif mode == "no_choices":
                self.send_json(200, {"output": {"choices": []}, "usage": {}, "request_id": "r-1"})
            else:
                self.send_json(200, {"output": {"choices": [{"message": {"role": "assistant", "content": "ok"},
                                                             "finish_reason": "stop"}]},
                                     "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
                                     "request_id": "r-1"})
            return
        self.start_stream()
        self.write_chunk(ds_event(1, "The answer is"))
        if mode == "cut_off":
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "bad_frame":
            self.write_chunk("id:2\nevent:result\n:HTTP_STATUS/200\ndata:{not json\n\n")
        elif mode == "error_frame":
            self.write_chunk('id:2\nevent:error\n:HTTP_STATUS/500\ndata:{"code": "InternalError", '
                             '"message": "the GPU fell over", "request_id": "r-1"}\n\n')
        elif mode == "ok":
            self.write_chunk(ds_event(2, " 42.", "stop"))
        # "no_done": the body ends cleanly before the event with the finish reason
        self.end_stream()

    def _raw(self, data: bytes, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class MisbehavingDashScope(_Misbehaving):
    base_path = "/api/v1"
    handler_class = _DashScopeHandler
