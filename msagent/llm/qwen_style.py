"""Qwen-Agent's surface of the one model layer: ``get_chat_model(cfg).chat(messages=[dict, ...],
functions=[...], stream=False|True)`` answers lists of message dicts, as Qwen-Agent's models do.

- in: Qwen-Agent's message dicts (``function_call`` on assistant messages, ``function`` results) or
  msagent ``Message`` objects; ``functions`` as JSON schemas or the seed's list of parameters;
- out: ``[{'role': 'assistant', 'content': '', 'function_call': {'name', 'arguments'}}, ...]``;
  streaming yields the whole list so far each time (a call shows while it is written);
- ``extra_generate_cfg`` takes Qwen-Agent's ``function_choice`` and ``parallel_function_calls``
  (default: parallel with native tool calling, one call at a time with the prompt, as Qwen-Agent).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from msagent.errors import ConfigError
from msagent.llm.events import LLMEvent, TextDelta, ToolCallEvent, ToolCallPartial
from msagent.schemas import FunctionCall, Message, ToolCall

if TYPE_CHECKING:
    from msagent.llm.base import ChatModel

FUNCTION = "function"
_ROLES = ("system", "user", "assistant", FUNCTION, "tool")


def to_messages(messages: Sequence[Message | dict[str, Any]]) -> list[Message]:
    """Qwen-Agent's message dicts (or msagent ``Message`` objects) as msagent messages: assistant
    ``function_call`` messages become one turn's tool calls, ``function`` messages their results."""
    out: list[Message] = []
    unanswered: list[ToolCall] = []
    for i, m in enumerate(messages):
        if isinstance(m, Message):
            out.append(m)
            unanswered = list(m.tool_calls or []) if m.role == "assistant" else unanswered
            continue
        if not isinstance(m, dict):
            raise ConfigError(f"messages[{i}] must be a dict like {{'role': 'user', 'content': ...}}, not {type(m).__name__}")
        role = m.get("role")
        if role not in _ROLES:
            raise ConfigError(f"messages[{i}] has role {role!r}; use one of {', '.join(_ROLES)}", field="messages")
        content = _text(m.get("content"), i)
        fc = m.get("function_call")
        if role == "assistant" and fc:
            call = _call(fc, i)
            last = out[-1] if out else None
            if last is not None and last.role == "assistant" and not (last.tool_calls and not unanswered):
                # the same turn: text before the call, or the turn's next (parallel) call
                calls = [*(last.tool_calls or []), call]
                out[-1] = last.model_copy(update={"tool_calls": calls, "content": last.content + content})
            else:
                out.append(Message(role="assistant", content=content, tool_calls=[call]))
            unanswered.append(call)
        elif role in (FUNCTION, "tool"):
            name = m.get("name")
            answered = next((c for c in unanswered if c.function.name == name), unanswered[0] if unanswered else None)
            if answered is not None:
                unanswered.remove(answered)
            out.append(Message(role="tool", content=content, name=name or None,
                               tool_call_id=answered.id if answered else m.get("tool_call_id")))  # fmt: skip
        else:
            out.append(Message(role=str(role), content=content))
            unanswered = [] if role == "user" else unanswered
    return out


def _text(content: Any, i: int) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):  # Qwen-Agent's content items: [{'text': ...}, ...]
        texts = []
        for item in content:
            if not (isinstance(item, dict) and isinstance(item.get("text"), str)):
                raise ConfigError(f"messages[{i}].content: only text items ({{'text': ...}}) are supported, got {item!r}")
            texts.append(item["text"])
        return "".join(texts)
    raise ConfigError(f"messages[{i}].content must be text, not {type(content).__name__}")


def _call(fc: Any, i: int) -> ToolCall:
    if not isinstance(fc, dict) or not isinstance(fc.get("name"), str) or not fc["name"]:
        raise ConfigError(f"messages[{i}].function_call needs a 'name' and 'arguments'", field="messages")
    args = fc.get("arguments")
    return ToolCall(function=FunctionCall(name=fc["name"], arguments=args if isinstance(args, str) and args else "{}"))


class TurnRenderer:
    """One model turn's events as Qwen-Agent's message dicts, growing as the events come."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.calls: list[ToolCall] = []  # the turn's complete calls, in order
        self._by_index: dict[int, dict[str, Any]] = {}

    def add(self, event: object) -> bool:
        """Take one event (others than text and calls are ignored); True when the messages changed."""
        if isinstance(event, TextDelta):
            if not event.text:
                return False
            last = self.messages[-1] if self.messages else None
            if last is not None and "function_call" not in last:
                last["content"] += event.text
            else:
                self.messages.append({"role": "assistant", "content": event.text})
            return True
        if isinstance(event, ToolCallPartial):
            self._set(event.index, event.name, event.arguments)
            return True
        if isinstance(event, ToolCallEvent):
            self._set(event.index, event.call.function.name, event.call.function.arguments)
            self.calls.append(event.call)
            return True
        return False

    def _set(self, index: int, name: str, arguments: str) -> None:
        message = self._by_index.get(index)
        if message is None:
            message = {"role": "assistant", "content": "", "function_call": {"name": name, "arguments": arguments}}
            self._by_index[index] = message
            self.messages.append(message)
        else:
            message["function_call"] = {"name": name, "arguments": arguments}


def snapshot(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy to hand out: later events change the originals, never what a caller already holds."""
    return [{**m, "function_call": dict(m["function_call"])} if "function_call" in m else dict(m) for m in messages]


def function_message(name: str, content: str) -> dict[str, Any]:
    """A tool's result as Qwen-Agent reports it."""
    return {"role": FUNCTION, "content": content, "name": name}


def default_parallel(model: ChatModel, explicit: bool | None) -> bool:
    """Qwen-Agent's default: one call at a time with the prompt protocol; native back-ends call in
    parallel unless told otherwise."""
    if explicit is not None:
        return bool(explicit)
    if model.config.parallel_tool_calls is not None:
        return model.config.parallel_tool_calls
    return model.native_tool_calling


def chat_as_dicts(
    model: ChatModel,
    messages: Sequence[Message | dict[str, Any]],
    functions: Sequence[Any] | None,
    *,
    stream: bool,
    tool_choice: str | None = None,
    parallel_tool_calls: bool | None = None,
    delta_stream: bool = False,
    extra_generate_cfg: dict[str, Any] | None = None,
    **settings: Any,
) -> list[dict[str, Any]] | Iterator[list[dict[str, Any]]]:
    if delta_stream:
        raise ConfigError("delta_stream=True is not supported: each streamed list is the whole response so far")
    cfg = dict(extra_generate_cfg or {})
    choice = cfg.pop("function_choice", None) or tool_choice
    parallel = cfg.pop("parallel_function_calls", None)
    parallel = default_parallel(model, parallel_tool_calls if parallel is None else parallel)
    msgs = to_messages(messages)
    if not msgs:
        raise ConfigError("messages is empty: pass at least [{'role': 'user', 'content': ...}]", field="messages")
    events = model.chat_events(msgs, tools=list(functions or []) or None, stream=stream, tool_choice=choice,
                               parallel_tool_calls=parallel, partial_calls=stream, **cfg, **settings)  # fmt: skip
    if not stream:
        turn = TurnRenderer()
        for event in events:
            turn.add(event)
        return turn.messages
    return _stream(events)


def _stream(events: Iterable[LLMEvent]) -> Iterator[list[dict[str, Any]]]:
    turn = TurnRenderer()
    for event in events:
        if turn.add(event):
            yield snapshot(turn.messages)
