"""A streaming parser for keyword protocols (ReAct, Qwen): raw text in, text deltas and complete
tool calls out.

Visible text streams as soon as it cannot be the start of a keyword; only a possible keyword
prefix (and trailing whitespace) is held back. A call is emitted once complete: at the next
keyword, at a stop keyword, or at the end of the stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Literal

import json5

from msagent.llm.events import FinishEvent, LLMEvent, TextDelta, ToolCallEvent, ToolCallPartial, UsageEvent
from msagent.schemas import FunctionCall, ToolCall

# thought/final: a visible-text marker (dropped); name/args: a call's parts; stop: the model is
# writing the tool result itself, everything after it is dropped.
KeywordKind = Literal["thought", "final", "name", "args", "stop"]

_FENCE = re.compile(r"^```[a-zA-Z0-9]*\s*\n?(.*?)\n?```$", re.DOTALL)


class CallStreamParser:
    def __init__(self, keywords: dict[str, KeywordKind]) -> None:
        self.keywords = keywords
        self._longest = max(map(len, keywords))
        self._buf = ""
        self._mode: Literal["text", "name", "args"] = "text"
        self._name = ""
        self._args: str | None = None
        self._ws = ""  # trailing whitespace of the visible text, released when more text follows
        self._skip_ws = False
        self.calls = 0
        self.stopped = False

    def feed(self, text: str) -> Iterator[LLMEvent]:
        if self.stopped:
            return
        self._buf += text
        while True:
            found = self._find_keyword()
            if found is None:
                hold = self._held_prefix()
                yield from self._consume(self._buf[: len(self._buf) - hold])
                self._buf = self._buf[len(self._buf) - hold :]
                return
            index, keyword = found
            yield from self._consume(self._buf[:index])
            self._buf = self._buf[index + len(keyword) :]
            yield from self._on_keyword(self.keywords[keyword])
            if self.stopped:
                self._buf = ""
                return

    def close(self) -> Iterator[LLMEvent]:
        """The end of the stream: flush held text and a pending call."""
        if not self.stopped:
            rest, self._buf = self._buf, ""
            yield from self._consume(rest)
        yield from self._end_call()
        self._ws = ""

    # --- internals ---------------------------------------------------------------------------------
    def _find_keyword(self) -> tuple[int, str] | None:
        best: tuple[int, str] | None = None
        for keyword in self.keywords:
            index = self._buf.find(keyword)
            while index >= 0 and not self._starts_line(index):
                index = self._buf.find(keyword, index + 1)
            if index >= 0 and (
                best is None or index < best[0] or (index == best[0] and len(keyword) > len(best[1]))
            ):
                best = (index, keyword)
        return best

    def _starts_line(self, index: int) -> bool:
        """Inside arguments a keyword counts only at the start of a line, so that arguments (code,
        quoted text) may mention a keyword."""
        if self._mode != "args":
            return True
        before = ((self._args or "") + self._buf[:index]).rstrip(" \t")
        return not before.strip() or before.endswith("\n")

    def _held_prefix(self) -> int:
        """Length of the longest tail of the buffer that could still grow into a keyword."""
        for size in range(min(len(self._buf), self._longest - 1), 0, -1):
            tail = self._buf[-size:]
            if any(k.startswith(tail) for k in self.keywords):
                return size
        return 0

    def _consume(self, text: str) -> Iterator[LLMEvent]:
        if not text:
            return
        if self._mode == "text":
            yield from self._visible(text)
            return
        if self._mode == "name":
            self._name += text
        else:
            self._args = (self._args or "") + text
        name = _clean_name(self._name)
        if name:  # the call as written so far (kept back from callers that did not ask for it)
            args = (self._args or "").lstrip().removeprefix(":").strip()
            yield ToolCallPartial(index=self.calls, name=name, arguments=args)

    def _visible(self, text: str) -> Iterator[LLMEvent]:
        if self._skip_ws:
            text = text.lstrip()
            if text.startswith(":"):  # keywords written without their colon's own spacing
                text = text[1:].lstrip()
            if not text:
                return
            self._skip_ws = False
        text = self._ws + text
        body = text.rstrip()
        self._ws = text[len(body) :]
        if body:
            yield TextDelta(text=body)

    def _on_keyword(self, kind: KeywordKind) -> Iterator[LLMEvent]:
        if kind == "name":
            yield from self._end_call()
            self._mode, self._name, self._args = "name", "", None
            self._ws = ""
        elif kind == "args":
            if self._mode == "args":  # a second input without a new name: a call with no name
                yield from self._end_call()
            if self._mode == "text":
                self._name, self._ws = "", ""
            self._mode, self._args = "args", ""
        else:
            yield from self._end_call()
            self._skip_ws = True
            self.stopped = kind == "stop"

    def _end_call(self) -> Iterator[LLMEvent]:
        if self._mode == "text":
            return
        lines = self._name.strip().lstrip(":").strip().splitlines()
        name = _clean_name(self._name)
        # Half a call (a name but no arguments keyword): whatever followed the name is passed on,
        # so that the tool says what is wrong with it.
        raw = self._args if self._args is not None else "\n".join(lines[1:])
        arguments = normalize_arguments(raw)
        call = ToolCall(function=FunctionCall(name=name, arguments=arguments))
        yield ToolCallEvent(index=self.calls, call=call)
        self.calls += 1
        self._mode, self._name, self._args = "text", "", None
        self._skip_ws = True


def _clean_name(raw: str) -> str:
    """The tool name from the text after the name keyword (its first line, without quotes)."""
    lines = raw.strip().lstrip(":").strip().splitlines()
    return lines[0].strip().strip("`'\"").strip() if lines else ""


def normalize_arguments(raw: str) -> str:
    """JSON5 arguments (single quotes, trailing commas, fences) as strict JSON; a JSON object is
    kept as the model wrote it (it goes back into the prompt so). Text that does not parse is passed
    on as it is, so that the tool reports an argument error the model reads."""
    text = raw.strip().lstrip(":").strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text:
        return "{}"
    # Only text that starts as an object may have prose after it; code with a dict inside is code.
    for candidate in (text, _first_object(text) if text.startswith("{") else None):
        if candidate:
            try:
                if isinstance(json.loads(candidate), dict):
                    return candidate
            except (ValueError, RecursionError):
                pass
            try:
                return json.dumps(json5.loads(candidate), ensure_ascii=False)
            except (ValueError, RecursionError):
                continue
    return text


def _first_object(text: str) -> str | None:
    """The first balanced ``{...}`` in the text (models add prose after the arguments)."""
    start = text.find("{")
    if start < 0:
        return None
    depth, quote, escaped = 0, "", False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def parse_stream(events: Iterable[LLMEvent], keywords: dict[str, KeywordKind]) -> Iterator[LLMEvent]:
    """Run the parser over a raw event stream; usage passes through, finish becomes 'tool_calls'
    when calls were emitted."""
    parser = CallStreamParser(keywords)
    reason = "stop"
    native = 0
    usage: list[UsageEvent] = []  # passed on after the last call, so calls come before usage
    for event in events:
        if isinstance(event, TextDelta):
            yield from parser.feed(event.text)
        elif isinstance(event, UsageEvent):
            usage.append(event)
        elif isinstance(event, ToolCallEvent):
            native += 1
            yield event
        elif isinstance(event, FinishEvent):
            reason = event.reason
    yield from parser.close()
    yield from usage
    yield FinishEvent(reason="tool_calls" if parser.calls or native else reason)
