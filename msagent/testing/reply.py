"""What a fake model server answers: a scripted turn plus HTTP-level behaviour."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Any

from msagent.llm.fake import ScriptedTurn, _chunks


class FakeReply(ScriptedTurn):
    """A ``ScriptedTurn`` plus an HTTP status, an error message/type, a hang and a usage override."""

    status: int = 200
    error_message: str = ""
    error_type: str = ""
    hang_s: float = 0.0
    retry_after_s: float | None = None  # sent as a Retry-After header on error replies
    usage: dict[str, int] | None = None

    def arguments_json(self) -> list[tuple[str, str]]:
        """``(name, arguments as a JSON string)`` for each tool call."""
        out = []
        for raw in self.tool_calls:
            args = raw.get("arguments", {})
            out.append((str(raw["name"]), args if isinstance(args, str) else json.dumps(args)))
        return out


Handler = Callable[[dict[str, Any]], "FakeReply | ScriptedTurn | str"]


def as_reply(value: FakeReply | ScriptedTurn | str) -> FakeReply:
    if isinstance(value, FakeReply):
        return value
    if isinstance(value, ScriptedTurn):
        return FakeReply(**value.model_dump())
    return FakeReply(text=str(value))


class ReplySource:
    """Hands out replies in order (thread-safe), or asks ``handler`` for each request."""

    def __init__(
        self, replies: Sequence[FakeReply | ScriptedTurn | str] | None, handler: Handler | None, cycle: bool
    ) -> None:
        if replies is None and handler is None:
            replies = ["ok"]
        self.replies = [as_reply(r) for r in replies or []]
        self.handler = handler
        self.cycle = cycle
        self._next = 0
        self._lock = threading.Lock()

    def next(self, request: dict[str, Any]) -> FakeReply:
        if self.handler is not None:
            return as_reply(self.handler(request))
        with self._lock:
            if not self.replies or (self._next >= len(self.replies) and not self.cycle):
                return FakeReply(
                    status=500,
                    error_message=f"the fake server ran out of replies after {len(self.replies)} requests",
                    error_type="server_error",
                )
            reply = self.replies[self._next % len(self.replies)]
            self._next += 1
            return reply


def usage_for(reply: FakeReply, prompt_text: str) -> tuple[int, int]:
    """(prompt tokens, completion tokens): the override, else word counts."""
    if reply.usage:
        return int(reply.usage.get("prompt_tokens", 0)), int(reply.usage.get("completion_tokens", 0))
    completion = len(_chunks(reply.text)) + len(reply.tool_calls)
    return len(prompt_text.split()), completion


def split_arguments(arguments: str, parts: int = 3) -> list[str]:
    """Cut a JSON string into ``parts`` fragments, as real servers stream arguments."""
    if len(arguments) < parts:
        return [arguments]
    size = -(-len(arguments) // parts)
    return [arguments[i : i + size] for i in range(0, len(arguments), size)]
