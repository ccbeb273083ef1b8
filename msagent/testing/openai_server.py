"""A fake OpenAI-compatible server: ``POST /v1/chat/completions`` (JSON and SSE), ``GET /v1/models``,
``POST /v1/embeddings`` and ``POST /v1/images/generations`` (deterministic values)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from msagent.llm.fake import ScriptedTurn
from msagent.testing.http import BackgroundServer, JsonHandler
from msagent.testing.reply import FakeReply, Handler, ReplySource, split_arguments, usage_for

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def fake_embedding(text: str, size: int = 8) -> list[float]:
    """The fake server's embedding of ``text``: ``size`` numbers in [0, 1) from its SHA-256."""
    digest = hashlib.sha256(text.encode()).digest()
    return [round(b / 256, 6) for b in digest[:size]]


def _prompt_text(body: dict[str, Any]) -> str:
    parts = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else ""
        parts.append(content if isinstance(content, str) else json.dumps(content))
    return " ".join(parts)


def _apply_stop(text: str, stop: Any) -> str:
    for word in [stop] if isinstance(stop, str) else stop or []:
        if word and word in text:
            text = text[: text.index(word)]
    return text


class _OpenAIHandler(JsonHandler):
    server_owner: FakeOpenAIServer

    def do_GET(self) -> None:  # noqa: N802  (stdlib name)
        if self.path.rstrip("/") == "/v1/models":
            model = {
                "id": self.server_owner.model,
                "object": "model",
                "created": 0,
                "owned_by": "msagent-fake",
            }
            self.send_json(200, {"object": "list", "data": [model]})
        else:
            self._error(404, f"no route GET {self.path}", "not_found_error")

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.rstrip("/")
        if path in ("/v1/embeddings", "/v1/images/generations"):
            self._media(path)
            return
        if path != "/v1/chat/completions":
            self._error(404, f"no route POST {self.path}; use /v1/chat/completions", "not_found_error")
            return
        try:
            body = self.read_json()
        except ValueError:
            self._error(400, "the request body is not valid JSON", "invalid_request_error")
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._error(400, "'messages' is required and must be a list", "invalid_request_error")
            return
        owner = self.server_owner
        owner.record(body, dict(self.headers.items()))
        reply = owner.source.next(body)
        if reply.hang_s:
            time.sleep(reply.hang_s)
        if reply.status != 200:
            message = reply.error_message or f"fake error {reply.status}"
            kind = reply.error_type or _ERROR_TYPES.get(reply.status, "server_error")
            self._error(reply.status, message, kind, reply.retry_after_s)
            return
        text = _apply_stop(reply.text, body.get("stop"))
        reply = reply.model_copy(update={"text": text})
        if body.get("tools") is None or body.get("tool_choice") == "none":
            reply = reply.model_copy(update={"tool_calls": []})
        if body.get("parallel_tool_calls") is False:
            reply = reply.model_copy(update={"tool_calls": reply.tool_calls[:1]})
        prompt, completion = usage_for(reply, _prompt_text(body))
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
        model = str(body.get("model") or owner.model)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(reply, model, usage if include_usage else None)
        else:
            self.send_json(200, self._completion(reply, model, usage))

    def _media(self, path: str) -> None:
        """Embeddings (a vector of 8 numbers derived from each text) and image generations (one
        URL per image, derived from the prompt): deterministic, so tests can check them."""
        try:
            body = self.read_json()
        except ValueError:
            self._error(400, "the request body is not valid JSON", "invalid_request_error")
            return
        self.server_owner.record(body, dict(self.headers.items()))
        model = str(body.get("model") or self.server_owner.model)
        if path == "/v1/embeddings":
            texts = body.get("input")
            texts = [texts] if isinstance(texts, str) else texts
            if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
                self._error(400, "'input' must be a string or a non-empty list of strings", "invalid_request_error")
                return
            data = [{"object": "embedding", "index": i, "embedding": fake_embedding(t)} for i, t in enumerate(texts)]
            tokens = sum(len(t.split()) for t in texts)
            self.send_json(200, {"object": "list", "data": data, "model": model,
                                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})  # fmt: skip
            return
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            self._error(400, "'prompt' is required", "invalid_request_error")
            return
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:16]
        count = int(body.get("n") or 1)
        data = [{"url": f"https://images.example/{digest}-{i}.png", "revised_prompt": prompt} for i in range(count)]
        self.send_json(200, {"created": int(time.time()), "data": data})

    def _error(self, status: int, message: str, kind: str, retry_after_s: float | None = None) -> None:
        body = {"error": {"message": message, "type": kind, "param": None, "code": kind}}
        self.send_json(
            status, body, {"Retry-After": f"{retry_after_s:g}"} if retry_after_s is not None else None
        )

    @staticmethod
    def _calls(reply: FakeReply) -> list[dict[str, Any]]:
        return [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": name, "arguments": args},
            }
            for name, args in reply.arguments_json()
        ]

    def _completion(self, reply: FakeReply, model: str, usage: dict[str, int]) -> dict[str, Any]:
        calls = self._calls(reply)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or (None if calls else "")}
        if calls:
            message["tool_calls"] = calls
        if reply.first_token_delay_s:
            time.sleep(reply.first_token_delay_s)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if calls else "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }

    def _stream(self, reply: FakeReply, model: str, usage: dict[str, int] | None) -> None:
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
            payload = {
                **base,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }
            self.write_chunk(f"data: {json.dumps(payload)}\n\n")

        self.start_stream()
        if reply.first_token_delay_s:
            time.sleep(reply.first_token_delay_s)
        chunk({"role": "assistant", "content": ""})
        for i, piece in enumerate(reply.pieces()):
            if i and reply.chunk_delay_s:
                time.sleep(reply.chunk_delay_s)
            chunk({"content": piece})
        calls = self._calls(reply)
        for index, call in enumerate(calls):
            head = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            chunk({"tool_calls": [head]})
            for fragment in split_arguments(call["function"]["arguments"]):
                chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
        chunk({}, "tool_calls" if calls else "stop")
        if usage is not None:
            self.write_chunk(f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n")
        self.write_chunk("data: [DONE]\n\n")
        self.end_stream()


class FakeOpenAIServer(BackgroundServer):
    """Speaks OpenAI's chat completions wire protocol with scripted replies (or ``handler(body)``).

    ``base_url`` is ``http://127.0.0.1:PORT/v1``; ``requests`` holds the JSON bodies received.
    Replies run out → HTTP 500 unless ``cycle=True``.
    """

    base_path = "/v1"
    handler_class = _OpenAIHandler

    def __init__(
        self,
        replies: Sequence[FakeReply | ScriptedTurn | str] | None = None,
        *,
        handler: Handler | None = None,
        cycle: bool = False,
        model: str = "fake-model",
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.source = ReplySource(replies, handler, cycle)
        self.model = model
