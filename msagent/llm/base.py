"""The one chat interface every back-end implements."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, overload

from msagent.errors import ConfigError
from msagent.llm.config import GenerationSettings, LLMConfig
from msagent.llm.events import (
    FinishEvent,
    LLMEvent,
    TextDelta,
    ToolCallEvent,
    ToolCallPartial,
    Usage,
    UsageEvent,
)
from msagent.schemas import Message, ToolCall, ToolSpec

log = logging.getLogger(__name__)

# 'auto' | 'none' | 'required' | the name of one tool
ToolChoice = str


class ChatModel(ABC):
    """Chat over messages, optionally with tools, streaming or not.

    ``chat`` yields ``TextDelta`` / ``ToolCallEvent`` / ``UsageEvent`` and ends with one
    ``FinishEvent``. Back-ends implement ``_chat`` (the wire call). When a back-end has no native
    tool calling, ``chat`` wraps ``_chat`` with a prompt protocol (ReAct or Qwen) so that both paths
    produce the same events.
    """

    native_tool_calling_default: ClassVar[bool] = True

    def __init__(self, config: LLMConfig) -> None:
        self.config = config

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def native_tool_calling(self) -> bool:
        if self.config.native_tool_calling is not None:
            return self.config.native_tool_calling
        return self.native_tool_calling_default

    @overload
    def chat(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec | dict] | None = None,
        stream: bool = True,
        tool_choice: ToolChoice | None = None,
        parallel_tool_calls: bool | None = None,
        partial_calls: bool = False,
        functions: None = None,
        **settings: Any,
    ) -> Iterator[LLMEvent]: ...

    @overload
    def chat(
        self,
        messages: Sequence[Message] | Sequence[dict[str, Any]],
        *,
        tools: Sequence[ToolSpec | dict] | None = None,
        stream: bool = True,
        tool_choice: ToolChoice | None = None,
        parallel_tool_calls: bool | None = None,
        partial_calls: bool = False,
        functions: Sequence[dict[str, Any]] | None = None,
        **settings: Any,
    ) -> Any: ...

    def chat(
        self,
        messages: Sequence[Message] | Sequence[dict[str, Any]],
        *,
        tools: Sequence[ToolSpec | dict] | None = None,
        stream: bool = True,
        tool_choice: ToolChoice | None = None,
        parallel_tool_calls: bool | None = None,
        partial_calls: bool = False,
        functions: Sequence[dict[str, Any]] | None = None,
        **settings: Any,
    ) -> Any:
        """Events for ``Message`` lists (``Iterator[LLMEvent]``). Qwen-Agent's call,
        ``chat(messages=[dict, ...], functions=[...], stream=...)``, answers as Qwen-Agent does
        instead: lists of message dicts (see ``msagent.llm.qwen_style``).

        ``tool_choice`` and ``parallel_tool_calls`` default to the config's, then 'auto' and True;
        ``partial_calls=True`` also passes on ``ToolCallPartial`` events while a call is written.
        """
        if functions is not None and tools is not None:
            raise ConfigError("pass the tools as either functions= (Qwen-Agent's) or tools=, not both")
        qwen_keys = {"extra_generate_cfg", "delta_stream"} & set(settings)
        if functions is not None or qwen_keys or any(isinstance(m, dict) for m in messages):
            from msagent.llm.qwen_style import chat_as_dicts

            return chat_as_dicts(self, messages, functions if functions is not None else tools, stream=stream,
                                 tool_choice=tool_choice, parallel_tool_calls=parallel_tool_calls, **settings)  # fmt: skip
        return self.chat_events(
            messages,  # type: ignore[arg-type]
            tools=tools, stream=stream, tool_choice=tool_choice, parallel_tool_calls=parallel_tool_calls,
            partial_calls=partial_calls, **settings,
        )  # fmt: skip

    def chat_events(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec | dict] | None = None,
        stream: bool = True,
        tool_choice: ToolChoice | None = None,
        parallel_tool_calls: bool | None = None,
        partial_calls: bool = False,
        **settings: Any,
    ) -> Iterator[LLMEvent]:
        """``chat`` for ``Message`` lists, typed: the events of one model call."""
        choice = tool_choice or self.config.tool_choice or "auto"
        parallel = parallel_tool_calls if parallel_tool_calls is not None else self.config.parallel_tool_calls
        events = self._tool_events(list(messages), tools, stream, choice, True if parallel is None else parallel, settings)
        return events if partial_calls else _no_partials(events)

    def _tool_events(
        self,
        messages: list[Message],
        tools: Sequence[ToolSpec | dict] | None,
        stream: bool,
        tool_choice: ToolChoice,
        parallel_tool_calls: bool,
        settings: dict[str, Any],
    ) -> Iterator[LLMEvent]:
        gen = self.config.generation().merged(**settings)
        specs = [ToolSpec.from_any(t) for t in tools or []]
        if not specs or tool_choice == "none":
            return self._chat(messages, [], stream, gen, "none", parallel_tool_calls)
        if self.native_tool_calling:
            events = self._chat(messages, specs, stream, gen, tool_choice, parallel_tool_calls)
            return _limit_calls(events, parallel_tool_calls)
        from msagent.llm.fncall import get_protocol

        protocol = get_protocol(self.config.fncall_prompt)
        prompt = protocol.build_messages(messages, specs, tool_choice, parallel_tool_calls)
        gen = gen.merged(stop=[*(gen.stop or []), *protocol.stop_words])
        raw = self._chat(prompt, [], stream, gen, "none", parallel_tool_calls)
        events = protocol.parse(raw)
        if tool_choice not in ("auto", "required"):
            events = _only_named(events, tool_choice)
        return _limit_calls(events, parallel_tool_calls)

    def chat_text(self, messages: Sequence[Message], **settings: Any) -> str:
        """The whole reply text of a tool-less, non-streaming call."""
        events = self.chat_events(messages, stream=False, **settings)
        return "".join(e.text for e in events if isinstance(e, TextDelta))

    @abstractmethod
    def _chat(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        stream: bool,
        settings: GenerationSettings,
        tool_choice: ToolChoice,
        parallel_tool_calls: bool,
    ) -> Iterator[LLMEvent]:
        """One call on the wire. Must end with a ``FinishEvent``."""

    def close(self) -> None:  # noqa: B027  (optional hook, not abstract)
        """Release clients; the default holds none."""


def _no_partials(events: Iterator[LLMEvent]) -> Iterator[LLMEvent]:
    return (e for e in events if not isinstance(e, ToolCallPartial))


def _limit_calls(events: Iterator[LLMEvent], parallel_tool_calls: bool) -> Iterator[LLMEvent]:
    """With ``parallel_tool_calls=False`` at most one call is passed on."""
    seen = 0
    for event in events:
        if isinstance(event, ToolCallEvent):
            seen += 1
            if not parallel_tool_calls and seen > 1:
                continue
        elif isinstance(event, ToolCallPartial) and not parallel_tool_calls and event.index > 0:
            continue
        yield event


def _only_named(events: Iterator[LLMEvent], name: str) -> Iterator[LLMEvent]:
    """A prompt can only ask for the named tool; calls to any other are dropped here so the caller
    gets what ``tool_choice`` promised (a native back-end enforces it on the server)."""
    kept = dropped = 0
    for event in events:
        if isinstance(event, ToolCallPartial):
            continue  # which call is kept is known once its name is complete
        if isinstance(event, ToolCallEvent):
            if event.call.function.name != name:
                dropped += 1
                log.info("tool_choice names %r: dropped the model's call to %r", name, event.call.function.name)
                continue
            event = event.model_copy(update={"index": kept})
            kept += 1
        elif isinstance(event, FinishEvent) and event.reason == "tool_calls" and dropped and not kept:
            event = FinishEvent(reason="stop")
        yield event


class ChatResult:
    """Collects a stream of events into text, tool calls, usage and finish reason."""

    def __init__(self) -> None:
        self.text = ""
        self.tool_calls: list[ToolCall] = []
        self.usage = Usage()
        self.finish_reason = "stop"

    def add(self, event: LLMEvent) -> None:
        if isinstance(event, TextDelta):
            self.text += event.text
        elif isinstance(event, ToolCallEvent):
            self.tool_calls.append(event.call)
        elif isinstance(event, UsageEvent):
            self.usage = self.usage + event.usage
        elif isinstance(event, FinishEvent):
            self.finish_reason = event.reason

    @classmethod
    def collect(cls, events: Iterator[LLMEvent]) -> ChatResult:
        result = cls()
        for event in events:
            result.add(event)
        return result
