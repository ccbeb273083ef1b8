"""RolePlay's visible trace, as ModelScope-Agent shows it: the model's text as it streams, then per
tool call ``Action: <tool>`` / ``Action Input: <arguments>``, per result
``Observation: <result>...</result>``, and ``Answer: `` before the text that follows the results.
A turn without tool calls is its text alone. Calls look the same whether the model made them
natively or through a prompt protocol (whose keywords the parser has already taken out)."""

from __future__ import annotations

from msagent.agents.loop import LoopEvent, ToolResult, TurnCap
from msagent.llm import TextDelta, ToolCallEvent


class TraceWriter:
    def __init__(self) -> None:
        self.text = ""  # everything rendered so far
        self._after_results = False

    def render(self, event: LoopEvent) -> str:
        """The text this event adds to the stream ('' for none)."""
        chunk = ""
        if isinstance(event, TextDelta) and event.text:
            chunk = event.text
            if self._after_results:
                chunk = chunk.lstrip()
                if not chunk:
                    return ""
                chunk = self._line() + "Answer: " + chunk
                self._after_results = False
        elif isinstance(event, ToolCallEvent):
            fn = event.call.function
            chunk = f"{self._line()}Action: {fn.name}\nAction Input: {fn.arguments}\n"
            self._after_results = False
        elif isinstance(event, ToolResult):
            chunk = f"{self._line()}Observation: <result>{event.content}</result>\n"
            self._after_results = True
        elif isinstance(event, TurnCap):
            chunk = f"{self._line()}{event.note}"
        self.text += chunk
        return chunk

    def _line(self) -> str:
        """A newline when the stream is in the middle of a line."""
        return "\n" if self.text and not self.text.endswith("\n") else ""
