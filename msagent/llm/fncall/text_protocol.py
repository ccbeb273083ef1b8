"""What ReAct and Qwen share: history rendered as text, a system prompt with the tools, and the
keyword stream parser. A protocol only supplies its keywords and wording."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from msagent.errors import ConfigError
from msagent.llm.base import ToolChoice
from msagent.llm.events import LLMEvent
from msagent.llm.fncall.base import FncallProtocol
from msagent.llm.fncall.parser import KeywordKind, parse_stream
from msagent.schemas import Message, ToolCall, ToolSpec

CHAT_ROLES = ("system", "user", "assistant", "tool")


class TextProtocol(FncallProtocol):
    keywords: dict[str, KeywordKind] = {}
    name_keyword = ""
    args_keyword = ""
    result_keyword = ""

    # --- wording, per protocol ---------------------------------------------------------------------
    def tools_prompt(self, tools: list[ToolSpec], tool_choice: ToolChoice, parallel_tool_calls: bool) -> str:
        raise NotImplementedError

    def choice_rule(self, tools: list[ToolSpec], tool_choice: ToolChoice, parallel_tool_calls: bool) -> str:
        rules = [self.tool_choice_rule(tool_choice), self.parallel_rule(parallel_tool_calls)]
        return " ".join(r for r in rules if r)

    def tool_choice_rule(self, tool_choice: ToolChoice) -> str:
        if tool_choice == "required":
            return "You must call at least one tool before you answer."
        if tool_choice not in ("auto", "none", ""):
            return f"You must call the tool `{tool_choice}` ({self.name_keyword} {tool_choice}) before you answer."
        return ""

    def parallel_rule(self, parallel_tool_calls: bool) -> str:
        if parallel_tool_calls:
            return (
                f"You may call several tools at once: write several {self.name_keyword} / {self.args_keyword} "
                f"pairs one after another, then stop; each result comes back as its own {self.result_keyword} "
                "line, in the same order."
            )
        return (
            f"Call at most one tool at a time: write one {self.name_keyword} and one {self.args_keyword}, "
            f"then stop and wait for the {self.result_keyword}."
        )

    @staticmethod
    def check_choice(tools: list[ToolSpec], tool_choice: ToolChoice) -> None:
        names = [t.name for t in tools]
        if tool_choice not in ("auto", "none", "required") and tool_choice not in names:
            raise ConfigError(
                f"tool_choice {tool_choice!r} is not one of the given tools ({', '.join(names)}); "
                "use 'auto', 'none', 'required' or a tool's name"
            )

    # --- rendering ---------------------------------------------------------------------------------
    def format_calls(self, calls: list[ToolCall]) -> str:
        return "\n".join(
            f"{self.name_keyword} {c.function.name}\n{self.args_keyword} {c.function.arguments}"
            for c in calls
        )

    def format_results(self, results: list[Message]) -> str:
        return "\n".join(f"{self.result_keyword} {m.content}" for m in results)

    def build_messages(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        tool_choice: ToolChoice,
        parallel_tool_calls: bool,
    ) -> list[Message]:
        self.check_choice(tools, tool_choice)
        prompt = self.tools_prompt(tools, tool_choice, parallel_tool_calls)
        out: list[Message] = []
        results: list[Message] = []
        for m in messages:
            if m.role == "tool":
                results.append(m)
                continue
            if results:
                out.append(Message(role="user", content=self.format_results(results)))
                results = []
            if m.role == "assistant" and m.tool_calls:
                # Content may still hold the raw call text (servers that echo it); render calls once.
                text = m.content.split(self.name_keyword)[0].strip()
                content = "\n".join(p for p in (text, self.format_calls(m.tool_calls)) if p)
                out.append(Message(role="assistant", content=content))
            elif m.role in CHAT_ROLES:
                out.append(Message(role=m.role, content=m.content))
            else:  # an agent's role name in a multi-agent conversation
                out.append(Message(role="user", content=f"{m.role}: {m.content}"))
        if results:
            out.append(Message(role="user", content=self.format_results(results)))
        if out and out[0].role == "system":
            out[0] = Message(role="system", content=f"{out[0].content.rstrip()}\n\n{prompt}")
        else:
            out.insert(0, Message(role="system", content=prompt))
        return _merge_same_role(out)

    def parse(self, events: Iterable[LLMEvent]) -> Iterator[LLMEvent]:
        return parse_stream(events, self.keywords)


def describe_tool(tool: ToolSpec) -> str:
    params = json.dumps(tool.parameters, ensure_ascii=False)
    return f"{tool.name}: {tool.description.strip() or tool.name} Parameters: {params}"


def _merge_same_role(messages: list[Message]) -> list[Message]:
    """Consecutive messages of one role become one (some servers reject two user turns in a row)."""
    out: list[Message] = []
    for m in messages:
        if out and out[-1].role == m.role and m.role != "system":
            out[-1] = Message(role=m.role, content=f"{out[-1].content}\n\n{m.content}")
        else:
            out.append(m)
    return out
