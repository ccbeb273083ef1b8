"""The contract of a prompt protocol that turns model text into structured tool calls."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator

from msagent.errors import ConfigError
from msagent.llm.base import ToolChoice
from msagent.llm.events import LLMEvent
from msagent.schemas import Message, ToolSpec


class FncallProtocol(ABC):
    """``build_messages`` describes the tools in the prompt and renders earlier tool calls and
    results as text; ``parse`` turns the raw text stream back into text deltas and complete tool
    calls, streaming-safe (text before a call still streams; a call is emitted once complete)."""

    name: str = ""
    stop_words: list[str] = []

    @abstractmethod
    def build_messages(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        tool_choice: ToolChoice,
        parallel_tool_calls: bool,
    ) -> list[Message]: ...

    @abstractmethod
    def parse(self, events: Iterable[LLMEvent]) -> Iterator[LLMEvent]: ...


def get_protocol(name: str) -> FncallProtocol:
    """A protocol by name: 'react' or 'qwen'."""
    from msagent.llm.fncall.qwen import QwenProtocol
    from msagent.llm.fncall.react import ReactProtocol

    protocols: dict[str, type[FncallProtocol]] = {"react": ReactProtocol, "qwen": QwenProtocol}
    try:
        return protocols[name]()
    except KeyError:
        raise ConfigError(f"unknown fncall_prompt {name!r}; use one of: {', '.join(protocols)}") from None
