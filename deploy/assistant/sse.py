"""Our LLM events out as OpenAI's ``chat.completion`` and ``chat.completion.chunk`` SSE frames.

Streaming follows OpenAI byte for byte in shape: a first chunk with the role, text deltas, for each
tool call one chunk with ``index``, ``id``, ``type`` and ``name`` (arguments "") followed by argument
fragments, a final chunk with ``finish_reason``, with ``stream_options.include_usage`` one more chunk
with empty ``choices`` and the usage, then ``data: [DONE]``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from msagent.llm.base import ChatResult
from msagent.llm.events import FinishEvent, LLMEvent, TextDelta, ToolCallEvent, Usage, UsageEvent

ARG_FRAGMENT = 24  # characters of arguments per delta: clients must reassemble, as with OpenAI
DONE = b"data: [DONE]\n\n"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def sse(obj: Any) -> bytes:
    return f"data: {_dumps(obj)}\n\n".encode()


def completion_body(
    result: ChatResult, *, completion_id: str, model: str, created: int, legacy: bool = False
) -> dict[str, Any]:
    """``legacy``: the call as ``function_call`` (the first one) with ``finish_reason: function_call``."""
    message: dict[str, Any] = {"role": "assistant", "content": result.text}
    finish = result.finish_reason
    if result.tool_calls and legacy:
        fn = result.tool_calls[0].function
        message["function_call"] = {"name": fn.name, "arguments": fn.arguments}
        message["content"] = result.text or None
        finish = "function_call"
    elif result.tool_calls:
        message["tool_calls"] = [c.model_dump() for c in result.tool_calls]
        message["content"] = result.text or None
        finish = "tool_calls"
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": result.usage.model_dump(),
        "system_fingerprint": None,
        # the seed's envelope fields, for its existing clients
        "request_id": completion_id,
        "message": "",
        "output": None,
    }


class ChunkEncoder:
    """Turns one completion's events into SSE frames (``legacy``: the first call as ``function_call``)."""

    def __init__(self, *, completion_id: str, model: str, include_usage: bool, legacy: bool = False) -> None:
        self.legacy = legacy
        self.id = completion_id
        self.model = model
        self.created = int(time.time())
        self.include_usage = include_usage
        self.usage = Usage()
        self.saw_calls = False
        self.finish = "stop"
        # every chunk is the same object around its delta: its JSON is encoded once, here, and
        # each chunk encodes only the delta (the bytes are what ``sse(body)`` would give)
        head = _dumps({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model})
        self._head = f'data: {head[:-1]},"system_fingerprint":null,"choices":[{{"index":0,"delta":'
        self._tail = ',"usage":null}\n\n' if include_usage else "}\n\n"

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        end = "null" if finish is None else _dumps(finish)
        return f'{self._head}{_dumps(delta)},"logprobs":null,"finish_reason":{end}}}]{self._tail}'.encode()

    def start(self) -> bytes:
        return self._chunk({"role": "assistant", "content": ""})

    def encode(self, event: LLMEvent) -> Iterator[bytes]:
        if isinstance(event, TextDelta):
            if event.text:
                yield self._chunk({"content": event.text})
        elif isinstance(event, ToolCallEvent) and self.legacy:
            if self.saw_calls:  # legacy function calling: one call per answer
                return
            self.saw_calls = True
            fn = event.call.function
            yield self._chunk({"function_call": {"name": fn.name, "arguments": ""}})
            for i in range(0, len(fn.arguments), ARG_FRAGMENT):
                yield self._chunk({"function_call": {"arguments": fn.arguments[i : i + ARG_FRAGMENT]}})
        elif isinstance(event, ToolCallEvent):
            self.saw_calls = True
            call = event.call
            head = {"index": event.index, "id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": ""}}
            yield self._chunk({"tool_calls": [head]})
            args = call.function.arguments
            for i in range(0, len(args), ARG_FRAGMENT):
                frag = args[i : i + ARG_FRAGMENT]
                yield self._chunk({"tool_calls": [{"index": event.index, "function": {"arguments": frag}}]})
        elif isinstance(event, UsageEvent):
            self.usage = self.usage + event.usage
        elif isinstance(event, FinishEvent):
            self.finish = event.reason

    def end(self) -> Iterator[bytes]:
        called = "function_call" if self.legacy else "tool_calls"
        yield self._chunk({}, called if self.saw_calls else self.finish)
        if self.include_usage:
            yield sse(
                {
                    "id": self.id,
                    "object": "chat.completion.chunk",
                    "created": self.created,
                    "model": self.model,
                    "system_fingerprint": None,
                    "choices": [],
                    "usage": self.usage.model_dump(),
                }
            )
        yield DONE

    @staticmethod
    def error(body: dict[str, Any]) -> bytes:
        """An error after the stream began: OpenAI sends the envelope as a data frame."""
        return sse(body)
