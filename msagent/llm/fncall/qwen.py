"""Qwen-Agent's function-calling prompt, as Qwen-Agent sends it: ✿FUNCTION✿ / ✿ARGS✿ / ✿RESULT✿ /
✿RETURN✿, stop words ``✿RESULT✿`` and ``✿RETURN✿``.

The system text is Qwen-Agent's, word for word, in Chinese when the conversation has Chinese and
in English otherwise, with its parallel variant. Earlier calls and results are written into the
assistant's turn as Qwen-Agent writes them, and a last assistant turn that ended in results is
continued the way Qwen-Agent continues it on a chat API (appended to the user's turn).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from msagent.llm.base import ToolChoice
from msagent.llm.events import LLMEvent, TextDelta
from msagent.llm.fncall.parser import KeywordKind, parse_stream
from msagent.llm.fncall.text_protocol import CHAT_ROLES, TextProtocol
from msagent.schemas import Message, ToolSpec

FUNCTION, ARGS, RESULT, RETURN, THOUGHT = "✿FUNCTION✿", "✿ARGS✿", "✿RESULT✿", "✿RETURN✿", "✿THOUGHT✿"

_INFO = {
    "zh": "# 工具\n\n## 你拥有如下工具：\n\n{tool_descs}",
    "en": "# Tools\n\n## You have access to the following tools:\n\n{tool_descs}",
}
_FORMAT = {
    "zh": (
        "## 你可以在回复中插入零次、一次或多次以下命令以调用工具：\n\n"
        f"{FUNCTION}: 工具名称，必须是[{{tool_names}}]之一。\n"
        f"{ARGS}: 工具输入\n"
        f"{RESULT}: 工具结果\n"
        f"{RETURN}: 根据工具结果进行回复，需将图片用![](url)渲染出来"
    ),
    "en": (
        "## When you need to call a tool, please insert the following command in your reply, which can be "
        "called zero or multiple times according to your needs:\n\n"
        f"{FUNCTION}: The tool to use, should be one of [{{tool_names}}]\n"
        f"{ARGS}: The input of the tool\n"
        f"{RESULT}: Tool results\n"
        f"{RETURN}: Reply based on tool results. Images need to be rendered as ![](url)"
    ),
    "zh_parallel": (
        "## 你可以在回复中插入以下命令以并行调用N个工具：\n\n"
        f"{FUNCTION}: 工具1的名称，必须是[{{tool_names}}]之一\n{ARGS}: 工具1的输入\n"
        f"{FUNCTION}: 工具2的名称\n{ARGS}: 工具2的输入\n...\n"
        f"{FUNCTION}: 工具N的名称\n{ARGS}: 工具N的输入\n"
        f"{RESULT}: 工具1的结果\n{RESULT}: 工具2的结果\n...\n{RESULT}: 工具N的结果\n"
        f"{RETURN}: 根据工具结果进行回复，需将图片用![](url)渲染出来"
    ),
    "en_parallel": (
        "## Insert the following command in your reply when you need to call N tools in parallel:\n\n"
        f"{FUNCTION}: The name of tool 1, should be one of [{{tool_names}}]\n{ARGS}: The input of tool 1\n"
        f"{FUNCTION}: The name of tool 2\n{ARGS}: The input of tool 2\n...\n"
        f"{FUNCTION}: The name of tool N\n{ARGS}: The input of tool N\n"
        f"{RESULT}: The result of tool 1\n{RESULT}: The result of tool 2\n...\n{RESULT}: The result of tool N\n"
        f"{RETURN}: Reply based on tool results. Images need to be rendered as ![](url)"
    ),
}
_DESCRIPTION = {
    "zh": "### {name}\n\n{name}: {description} 输入参数：{parameters} {args_format}",
    "en": "### {name}\n\n{name}: {description} Parameters: {parameters} {args_format}",
}
_ARGS_FORMAT = {"zh": "此工具的输入应为JSON对象。", "en": "Format the arguments as a JSON object."}
_CODE_ARGS_FORMAT = {
    "zh": "此工具的输入应为Markdown代码块。",
    "en": "Enclose the code within triple backticks (`) at the beginning and end of the code.",
}
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
_EXIT = f"\n{RETURN}: "


def language(messages: list[Message]) -> str:
    """Qwen-Agent's choice: 'zh' when any message has Chinese characters, else 'en'."""
    return "zh" if any(_CHINESE.search(m.content or "") for m in messages) else "en"


def describe(tool: ToolSpec, lang: str) -> str:
    """One tool as Qwen-Agent describes it (its parameters in the form the tool wrote them)."""
    formats = _CODE_ARGS_FORMAT if tool.name == "code_interpreter" else _ARGS_FORMAT
    parameters = tool.source_parameters if tool.source_parameters is not None else tool.parameters
    return _DESCRIPTION[lang].format(
        name=tool.name,
        description=tool.description,
        parameters=json.dumps(parameters, ensure_ascii=False),
        args_format=formats[lang],
    ).rstrip()


class QwenProtocol(TextProtocol):
    name = "qwen"
    stop_words = [RESULT, RETURN]
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

    def system_text(self, tools: list[ToolSpec], parallel_tool_calls: bool, lang: str) -> str:
        descs = "\n\n".join(describe(t, lang) for t in tools)
        names = ",".join(t.name for t in tools)
        key = f"{lang}_parallel" if parallel_tool_calls else lang
        return _INFO[lang].format(tool_descs=descs) + "\n\n" + _FORMAT[key].format(tool_names=names)

    def build_messages(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        tool_choice: ToolChoice,
        parallel_tool_calls: bool,
    ) -> list[Message]:
        self.check_choice(tools, tool_choice)
        prompt = self.system_text(tools, parallel_tool_calls, language(messages))
        rule = self.tool_choice_rule(tool_choice)  # not in Qwen-Agent's text: only when asked for
        if rule:
            prompt += "\n\n" + rule
        out: list[Message] = []
        for m in messages:
            last = out[-1] if out else None
            if m.role == "assistant" and m.tool_calls:
                text = m.content.split(self.name_keyword)[0].strip()
                part = text
                for c in m.tool_calls:
                    args = c.function.arguments
                    args = "\n" + args if args.startswith("```") else args
                    lead = "\n" if part or (last is not None and last.role == "assistant") else ""
                    part += f"{lead}{FUNCTION}: {c.function.name}\n{ARGS}: {args}"
                    lead = "\n"
                self._add_assistant(out, part)
            elif m.role == "tool":
                if last is None or last.role != "assistant":
                    out.append(Message(role="assistant", content=""))
                body = out[-1].content.removesuffix(_EXIT)
                out[-1] = Message(role="assistant", content=f"{body}\n{RESULT}: {m.content}{_EXIT}")
            elif m.role == "assistant":
                self._add_assistant(out, m.content)
            elif m.role in CHAT_ROLES:
                out.append(Message(role=m.role, content=m.content))
            else:  # an agent's role name in a multi-agent conversation
                out.append(Message(role="user", content=f"{m.role}: {m.content}"))
        if out and out[-1].role == "assistant":
            # continued generation: Qwen-Agent drops ': ' (it may form one token with what follows)
            # and, on a chat API, appends the unfinished turn to the user's
            text = out[-1].content.removesuffix(": ") if out[-1].content.endswith(_EXIT) else out[-1].content
            if len(out) > 1 and out[-2].role == "user":
                out[-2:] = [Message(role="user", content=f"{out[-2].content}\n\n{text}")]
            else:
                out[-1] = Message(role="assistant", content=text)
        if out and out[0].role == "system":
            out[0] = Message(role="system", content=f"{out[0].content}\n\n{prompt}")
        else:
            out.insert(0, Message(role="system", content=prompt))
        return out

    def parse(self, events: Iterable[LLMEvent]) -> Iterator[LLMEvent]:
        return parse_stream(_without_leading_colon(events), self.keywords)

    @staticmethod
    def _add_assistant(out: list[Message], text: str) -> None:
        if out and out[-1].role == "assistant":  # one assistant turn, as Qwen-Agent joins them
            out[-1] = Message(role="assistant", content=out[-1].content + text)
        else:
            out.append(Message(role="assistant", content=text))


def _without_leading_colon(events: Iterable[LLMEvent]) -> Iterator[LLMEvent]:
    """A reply that continues a prompt ending in ✿RETURN✿ may start with ': ' (Qwen-Agent drops it)."""
    head, settled = "", False
    for event in events:
        if not settled and isinstance(event, TextDelta):
            head += event.text
            if head in ("", ":"):  # not known yet
                continue
            settled = True
            text = head[2:] if head.startswith(": ") else head[1:] if head.startswith(":") else head
            if text:
                yield TextDelta(text=text)
            continue
        if not settled and head:  # a lone ':' before anything else: dropped
            settled = True
        yield event
