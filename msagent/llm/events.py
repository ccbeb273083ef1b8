"""What a chat model yields: text deltas, complete tool calls (and, on request, calls being
written), usage, and how it finished."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field

from msagent.schemas import ToolCall


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class TextDelta(BaseModel):
    kind: Literal["text"] = "text"
    text: str


class ToolCallEvent(BaseModel):
    """A tool call, emitted only once complete (name and all of its arguments)."""

    kind: Literal["tool_call"] = "tool_call"
    index: int = 0
    call: ToolCall


class ToolCallPartial(BaseModel):
    """A tool call being written: its name and arguments so far (each event holds all of them).
    Passed on only to callers that ask for them (``chat(..., partial_calls=True)``); the complete
    ``ToolCallEvent`` of the same ``index`` follows."""

    kind: Literal["tool_call_partial"] = "tool_call_partial"
    index: int = 0
    name: str = ""
    arguments: str = ""


class UsageEvent(BaseModel):
    kind: Literal["usage"] = "usage"
    usage: Usage


class FinishEvent(BaseModel):
    kind: Literal["finish"] = "finish"
    reason: str = "stop"  # stop | tool_calls | length | content_filter


LLMEvent = Annotated[
    Union[TextDelta, ToolCallEvent, ToolCallPartial, UsageEvent, FinishEvent], Field(discriminator="kind")
]
