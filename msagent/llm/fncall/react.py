"""ReAct, as ModelScope-Agent users know it: Thought / Action / Action Input / Observation /
Final Answer; stop word ``Observation:``."""

from __future__ import annotations

from msagent.llm.base import ToolChoice
from msagent.llm.fncall.parser import KeywordKind
from msagent.llm.fncall.text_protocol import TextProtocol, describe_tool
from msagent.schemas import ToolSpec


class ReactProtocol(TextProtocol):
    name = "react"
    stop_words = ["Observation:"]
    keywords: dict[str, KeywordKind] = {
        "Thought:": "thought",
        "Final Answer:": "final",
        "Action:": "name",
        "Action Input:": "args",
        "Observation:": "stop",
    }
    name_keyword = "Action:"
    args_keyword = "Action Input:"
    result_keyword = "Observation:"

    def tools_prompt(self, tools: list[ToolSpec], tool_choice: ToolChoice, parallel_tool_calls: bool) -> str:
        names = ", ".join(t.name for t in tools)
        described = "\n\n".join(describe_tool(t) for t in tools)
        return (
            "Answer the question as well as you can. You have access to the following tools:\n\n"
            f"{described}\n\n"
            "Use this format:\n\n"
            "Thought: think about what to do next\n"
            f"Action: the tool to use, one of [{names}]\n"
            "Action Input: the tool's arguments as one JSON object\n"
            "Observation: the tool's result (written for you, never by you)\n"
            "... (Thought / Action / Action Input / Observation can repeat)\n"
            "Thought: I now know the final answer\n"
            "Final Answer: the answer to the original question\n\n"
            f"{self.choice_rule(tools, tool_choice, parallel_tool_calls)} "
            "If no tool is needed, reply with Final Answer directly."
        )
