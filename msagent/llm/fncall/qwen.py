"""Qwen-Agent's function-calling format: ✿FUNCTION✿ / ✿ARGS✿ / ✿RESULT✿ / ✿RETURN✿; stop word
``✿RESULT✿``."""

from __future__ import annotations

from msagent.llm.base import ToolChoice
from msagent.llm.fncall.parser import KeywordKind
from msagent.llm.fncall.text_protocol import TextProtocol, describe_tool
from msagent.schemas import ToolSpec

FUNCTION, ARGS, RESULT, RETURN, THOUGHT = "✿FUNCTION✿", "✿ARGS✿", "✿RESULT✿", "✿RETURN✿", "✿THOUGHT✿"


class QwenProtocol(TextProtocol):
    name = "qwen"
    stop_words = [RESULT]
    # Without colons: the parser drops the ':' that follows, and models sometimes leave it out.
    keywords: dict[str, KeywordKind] = {
        THOUGHT: "thought",
        RETURN: "final",
        FUNCTION: "name",
        ARGS: "args",
        RESULT: "stop",
    }
    name_keyword = f"{FUNCTION}:"
    args_keyword = f"{ARGS}:"
    result_keyword = f"{RESULT}:"

    def tools_prompt(self, tools: list[ToolSpec], tool_choice: ToolChoice, parallel_tool_calls: bool) -> str:
        names = ", ".join(t.name for t in tools)
        described = "\n\n".join(f"### {t.name}\n\n{describe_tool(t)}" for t in tools)
        return (
            "# Tools\n\n## You have access to the following tools:\n\n"
            f"{described}\n\n"
            "## To call a tool, insert these lines into your reply (zero or more times):\n\n"
            f"{FUNCTION}: the tool to call, one of [{names}]\n"
            f"{ARGS}: the tool's arguments as one JSON object\n"
            f"{RESULT}: the tool's result (written for you, never by you)\n"
            f"{RETURN}: your reply based on the results\n\n"
            f"{self.choice_rule(tools, tool_choice, parallel_tool_calls)}"
        )
