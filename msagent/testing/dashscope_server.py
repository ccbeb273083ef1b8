"""A fake DashScope server: the text-generation HTTP API as the official ``dashscope`` SDK calls it.

``POST {base}/services/aigc/text-generation/generation`` with ``{"model", "input": {"messages"},
"parameters": {...}}``; streaming when the ``X-DashScope-SSE: enable`` header is sent (SSE events
``id:/event:result/:HTTP_STATUS/200/data:{...}``), incremental or cumulative per
``parameters.incremental_output``; errors as ``{"code", "message", "request_id"}``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from msagent.llm.fake import ScriptedTurn
from msagent.testing.http import BackgroundServer, JsonHandler
from msagent.testing.reply import FakeReply, Handler, ReplySource, split_arguments, usage_for

GENERATION_PATH = "/api/v1/services/aigc/text-generation/generation"
_CODES = {
    400: "InvalidParameter",
    401: "InvalidApiKey",
    403: "AccessDenied",
    404: "ModelNotFound",
    429: "Throttling.RateQuota",
    500: "InternalError",
}


class _DashScopeHandler(JsonHandler):
    server_owner: FakeDashScopeServer

    def do_POST(self) -> None:  # noqa: N802  (stdlib name)
        request_id = str(uuid.uuid4())
        if self.path.rstrip("/") != GENERATION_PATH:
            self._error(404, "NotFound", f"no route POST {self.path}; use {GENERATION_PATH}", request_id)
            return
        try:
            body = self.read_json()
        except ValueError:
            self._error(400, "InvalidParameter", "the request body is not valid JSON", request_id)
            return
        messages = (body.get("input") or {}).get("messages") if isinstance(body, dict) else None
        if not isinstance(messages, list) or not messages:
            self._error(
                400, "InvalidParameter", "input.messages is required and must be a non-empty list", request_id
            )
            return
        owner = self.server_owner
        owner.record(body, dict(self.headers.items()))
        reply = owner.source.next(body)
        if reply.hang_s:
            time.sleep(reply.hang_s)
        if reply.status != 200:
            code = reply.error_type or _CODES.get(reply.status, "InternalError")
            message = reply.error_message or f"fake error {reply.status}"
            self._error(reply.status, code, message, request_id, reply.retry_after_s)
            return
        params = body.get("parameters") or {}
        text = reply.text
        stops = params.get("stop")
        for word in [stops] if isinstance(stops, str) else stops or []:
            if isinstance(word, str) and word and word in text:
                text = text[: text.index(word)]
        calls = reply.arguments_json() if params.get("tools") and params.get("tool_choice") != "none" else []
        if params.get("parallel_tool_calls") is False:
            calls = calls[:1]
        reply = reply.model_copy(update={"text": text})
        prompt_text = " ".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))
        prompt, completion = usage_for(reply, prompt_text)
        usage = {"input_tokens": prompt, "output_tokens": completion, "total_tokens": prompt + completion}
        if (self.headers.get("X-DashScope-SSE") or "").lower() == "enable" or params.get("stream"):
            self._stream(reply, calls, usage, request_id, bool(params.get("incremental_output")))
            return
        if reply.first_token_delay_s:
            time.sleep(reply.first_token_delay_s)
        choice = {"finish_reason": "tool_calls" if calls else "stop", "message": self._message(text, calls)}
        self.send_json(
            200,
            {
                "status_code": 200,
                "request_id": request_id,
                "code": "",
                "message": "",
                "output": {"text": None, "finish_reason": None, "choices": [choice]},
                "usage": usage,
            },
        )

    @staticmethod
    def _message(text: str, calls: list[tuple[str, str]]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if calls:
            message["tool_calls"] = [
                {
                    "index": i,
                    "id": f"call_{uuid.uuid4().hex[:24]}",
                    "type": "function",
                    "function": {"name": name, "arguments": args},
                }
                for i, (name, args) in enumerate(calls)
            ]
        return message

    def _error(
        self, status: int, code: str, message: str, request_id: str, retry_after_s: float | None = None
    ) -> None:
        headers = {"Retry-After": f"{retry_after_s:g}"} if retry_after_s is not None else None
        self.send_json(status, {"code": code, "message": message, "request_id": request_id}, headers)

    def _stream(
        self,
        reply: FakeReply,
        calls: list[tuple[str, str]],
        usage: dict[str, int],
        request_id: str,
        incremental: bool,
    ) -> None:
        counter = 0
        produced = 0

        def event(message: dict[str, Any], finish: str = "null") -> None:
            nonlocal counter
            counter += 1
            # usage grows as output is produced, as the real service reports it
            running = (
                {**usage, "output_tokens": produced, "total_tokens": usage["input_tokens"] + produced}
                if finish == "null"
                else usage
            )
            data = {
                "output": {"choices": [{"message": message, "finish_reason": finish}]},
                "usage": running,
                "request_id": request_id,
            }
            self.write_chunk(f"id:{counter}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(data)}\n\n")

        self.start_stream()
        if reply.first_token_delay_s:
            time.sleep(reply.first_token_delay_s)
        sent = ""
        pieces = reply.pieces()
        for i, piece in enumerate(pieces):
            if i and reply.chunk_delay_s:
                time.sleep(reply.chunk_delay_s)
            sent += piece
            produced += 1
            last = i == len(pieces) - 1 and not calls
            event(
                {"role": "assistant", "content": piece if incremental else sent}, "stop" if last else "null"
            )
        for index, (name, args) in enumerate(calls):
            call_id = f"call_{uuid.uuid4().hex[:24]}"
            event(
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ],
                }
            )
            for fragment in split_arguments(args):
                event(
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [
                            {
                                "index": index,
                                "id": "",
                                "type": "function",
                                "function": {"arguments": fragment},
                            }
                        ],
                    }
                )
            produced += 1
        if calls or not pieces:
            event({"role": "assistant", "content": ""}, "tool_calls" if calls else "stop")
        self.end_stream()


class FakeDashScopeServer(BackgroundServer):
    """Speaks DashScope's text-generation API with scripted replies (or ``handler(body)``).

    ``base_url`` is the SDK's base http API url (``http://127.0.0.1:PORT/api/v1``); pass it as
    ``base_address=`` to ``dashscope.Generation.call`` or as ``api_base`` in an llm config.
    """

    base_path = "/api/v1"
    handler_class = _DashScopeHandler

    def __init__(
        self,
        replies: Sequence[FakeReply | ScriptedTurn | str] | None = None,
        *,
        handler: Handler | None = None,
        cycle: bool = False,
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.source = ReplySource(replies, handler, cycle)
