"""The one tool loop of msagent's agents: a model turn, every call it requested (run at once where
that is safe, results in the order requested: ``msagent.tools.parallel``), their results back to
the model, until a turn without calls or the turn cap.

It yields what happens as values: the model's events (text, calls), each ``ToolResult``, a
``TurnEnd`` per model turn and a ``TurnCap`` note. ``RolePlay`` renders them as text with the
ModelScope-Agent trace, ``Assistant`` as Qwen-Agent's growing message lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from msagent.llm import ChatModel, ChatResult, TextDelta, ToolCallEvent, ToolCallPartial, Usage
from msagent.schemas import Message, ToolCall
from msagent.tools import BaseTool
from msagent.tools.parallel import call_tools

DEFAULT_MAX_TURNS = 8


@dataclass
class RunRecord:
    """The transcript of one run: every message the model saw or produced, and the usage."""

    messages: list[Message] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model_turns: int = 0
    tool_calls: int = 0
    hit_turn_cap: bool = False

    def new_messages(self) -> list[Message]:
        """This run's turn: the query, assistant messages and tool results (no system or history)."""
        for i in range(len(self.messages) - 1, -1, -1):
            if self.messages[i].role == "user":
                return self.messages[i:]
        return []

    @property
    def answer(self) -> str:
        """The reply without the tool trace: the last model turn's text (or the turn-cap note);
        when that turn said nothing, what the model said along the way."""
        mine = [m.content for m in self.new_messages() if m.role == "assistant"]
        if mine and mine[-1].strip():
            return mine[-1]
        return "\n".join(text for text in mine if text.strip())


@dataclass
class ToolResult:
    call: ToolCall
    content: str


@dataclass
class TurnEnd:
    message: Message  # the model's turn as it went into the transcript


@dataclass
class TurnCap:
    note: str


LoopEvent = Union[TextDelta, ToolCallPartial, ToolCallEvent, ToolResult, TurnEnd, TurnCap]


def run_tool_loop(
    llm: ChatModel,
    record: RunRecord,
    tools: Mapping[str, BaseTool],
    *,
    max_turns: int = DEFAULT_MAX_TURNS,
    call_opts: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    tool_kwargs: Mapping[str, Any] | None = None,
    partial_calls: bool = False,
) -> Iterator[LoopEvent]:
    """Run the loop on ``record.messages`` (appending to it); ``tool_kwargs`` reach every tool's
    ``call``. Tool failures are results the model reads (``call_tool`` never raises for them)."""
    specs = [t.spec for t in tools.values()]
    for turn in range(max_turns):
        result = ChatResult()
        events = llm.chat_events(record.messages, tools=specs or None, stream=True, partial_calls=partial_calls,
                                 **dict(call_opts or {}), **dict(settings or {}))  # fmt: skip
        for event in events:
            result.add(event)
            if isinstance(event, (TextDelta, ToolCallPartial, ToolCallEvent)):
                yield event
        record.model_turns += 1
        record.usage = record.usage + result.usage
        message = Message(role="assistant", content=result.text, tool_calls=result.tool_calls or None)
        record.messages.append(message)
        yield TurnEnd(message)
        if not result.tool_calls:
            return
        for call, content in call_tools(tools, result.tool_calls, tool_kwargs):
            record.messages.append(
                Message(role="tool", content=content, tool_call_id=call.id, name=call.function.name)
            )
            record.tool_calls += 1
            yield ToolResult(call, content)
        if turn == max_turns - 1:
            record.hit_turn_cap = True
            note = f"[stopped: the model still wanted tools after {max_turns} turns (max_turns)]"
            record.messages.append(Message(role="assistant", content=note))
            yield TurnCap(note)
