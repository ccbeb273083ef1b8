"""Fake models as library code: fixed replies, or a function that decides the reply.

They stream like real back-ends (word-sized chunks, optional delays) and can emit native tool
calls. With ``native_tool_calling=False`` in their config their text goes through the prompt
protocol parser, exactly as a real model without native tools would.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pydantic import BaseModel, Field

from msagent.errors import ModelError
from msagent.llm.base import ChatModel, ToolChoice
from msagent.llm.config import GenerationSettings, LLMConfig
from msagent.llm.events import FinishEvent, LLMEvent, TextDelta, ToolCallEvent, Usage, UsageEvent
from msagent.schemas import FunctionCall, Message, ToolCall, ToolSpec


class ScriptedTurn(BaseModel):
    """One scripted reply: text and/or tool calls (``[{'name': ..., 'arguments': {...}}]``)."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    first_token_delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    # stream in pieces of this many characters instead of words (text without spaces, e.g. Chinese)
    chunk_chars: int = 0

    def calls(self) -> list[ToolCall]:
        out = []
        for raw in self.tool_calls:
            args = raw.get("arguments", {})
            out.append(
                ToolCall(
                    function=FunctionCall(
                        name=raw["name"], arguments=args if isinstance(args, str) else json.dumps(args)
                    )
                )
            )
        return out

    def pieces(self, text: str | None = None) -> list[str]:
        """``text`` (default: this turn's) cut as it streams."""
        text = self.text if text is None else text
        if self.chunk_chars > 0:
            return [text[i : i + self.chunk_chars] for i in range(0, len(text), self.chunk_chars)]
        return _chunks(text)


Reply = str | ScriptedTurn


def _chunks(text: str) -> list[str]:
    """Word-sized pieces that join back to exactly ``text``."""
    return re.findall(r"\s*\S+|\s+", text) or ([text] if text else [])


class _FakeModel(ChatModel):
    def __init__(self, config: LLMConfig) -> None:
        super().__init__(config)
        # what each call received, so tests can assert that per-call settings arrived
        self.settings_seen: list[GenerationSettings] = []

    def _reply(self, messages: list[Message], tools: list[ToolSpec]) -> ScriptedTurn:
        raise NotImplementedError

    def _chat(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        stream: bool,
        settings: GenerationSettings,
        tool_choice: ToolChoice,
        parallel_tool_calls: bool,
    ) -> Iterator[LLMEvent]:
        self.settings_seen.append(settings)
        turn = self._reply(messages, tools)
        text = turn.text
        for stop in settings.stop or []:
            if stop and stop in text:
                text = text[: text.index(stop)]
        if turn.first_token_delay_s:
            time.sleep(turn.first_token_delay_s)
        pieces = turn.pieces(text) if stream else ([text] if text else [])
        for i, piece in enumerate(pieces):
            if i and turn.chunk_delay_s:
                time.sleep(turn.chunk_delay_s)
            yield TextDelta(text=piece)
        calls = turn.calls() if tools else []
        for index, call in enumerate(calls):
            yield ToolCallEvent(index=index, call=call)
        prompt_tokens = sum(len(m.content.split()) for m in messages)
        completion_tokens = len(_chunks(text)) + len(calls)
        yield UsageEvent(
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            )
        )
        yield FinishEvent(reason="tool_calls" if calls else "stop")


class ScriptedModel(_FakeModel):
    """Answers with the given replies in order; ``cycle=True`` starts over when they run out."""

    def __init__(self, replies: Sequence[Reply], *, cycle: bool = False, config: LLMConfig | None = None) -> None:
        super().__init__(config or LLMConfig(model="scripted", model_server="scripted"))
        self.replies = [r if isinstance(r, ScriptedTurn) else ScriptedTurn(text=r) for r in replies]
        self.cycle = cycle
        self.calls_made = 0
        self.seen: list[list[Message]] = []

    def _reply(self, messages: list[Message], tools: list[ToolSpec]) -> ScriptedTurn:
        self.seen.append(list(messages))
        if not self.replies:
            raise ModelError("the scripted model has no replies; give it at least one")
        if self.calls_made >= len(self.replies) and not self.cycle:
            raise ModelError(f"the scripted model ran out of replies after {len(self.replies)} calls")
        turn = self.replies[self.calls_made % len(self.replies)]
        self.calls_made += 1
        return turn


class FunctionModel(_FakeModel):
    """Calls ``fn(messages, tools)`` to decide each reply (a string or a ``ScriptedTurn``)."""

    def __init__(
        self,
        fn: Callable[[list[Message], list[ToolSpec]], Reply],
        *,
        config: LLMConfig | None = None,
    ) -> None:
        super().__init__(config or LLMConfig(model="function", model_server="function"))
        self.fn = fn

    def _reply(self, messages: list[Message], tools: list[ToolSpec]) -> ScriptedTurn:
        reply = self.fn(messages, tools)
        return reply if isinstance(reply, ScriptedTurn) else ScriptedTurn(text=str(reply))


def scripted_from_config(config: LLMConfig) -> ScriptedModel:
    """``{'model_server': 'scripted', 'replies': [...], 'cycle': true}`` (used by scenario files)."""
    extra = config.model_extra or {}
    replies = extra.get("replies") or []
    return ScriptedModel(
        [r if isinstance(r, str) else ScriptedTurn.model_validate(r) for r in replies],
        cycle=bool(extra.get("cycle", False)),
        config=config,
    )
