"""Qwen-Agent's ``Assistant``: ``from msagent.agents import Assistant``.

``Assistant(llm=..., function_list=[...], files=None, system_message=...)``;
``for responses in bot.run(messages=[{'role': 'user', 'content': ...}]): ...`` yields the growing
list of response messages as Qwen-Agent does: ``{'role': 'assistant', 'content': '',
'function_call': {'name', 'arguments'}}`` while a call is written, ``{'role': 'function',
'content', 'name'}`` with its result, then the answer growing chunk by chunk.
``run_nonstream(messages)`` returns the final list.

A thin surface over what RolePlay uses too: the same tool loop (``loop.py``: the one model layer
and ``call_tool``), the same tools (``function_list`` items, ``use_tool_api``), and the knowledge
store of ``/v1/assistants/lite`` for ``files=``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from msagent.agents.base import AgentBase, ToolItem
from msagent.agents.loop import DEFAULT_MAX_TURNS, RunRecord, ToolResult, TurnCap, TurnEnd, run_tool_loop
from msagent.errors import ConfigError
from msagent.llm import ChatModel, LLMConfig
from msagent.llm.qwen_style import TurnRenderer, default_parallel, function_message, snapshot, to_messages
from msagent.schemas import Message

DEFAULT_SYSTEM_MESSAGE = "You are a helpful assistant."
_KNOWLEDGE = {"zh": "# 知识库\n\n{knowledge}", "en": "# Knowledge Base\n\n{knowledge}"}
_SNIPPET = {"zh": "## 来自 {source} 的内容：\n\n```\n{content}\n```", "en": "## The content from {source}:\n\n```\n{content}\n```"}

Responses = list[dict[str, Any]]


class Assistant(AgentBase):
    def __init__(
        self,
        function_list: Sequence[ToolItem] | None = None,
        llm: ChatModel | LLMConfig | dict[str, Any] | None = None,
        system_message: str | None = DEFAULT_SYSTEM_MESSAGE,
        name: str | None = None,
        description: str | None = None,
        files: Sequence[str | Path] | None = None,
        *,
        max_turns: int = DEFAULT_MAX_TURNS,
        knowledge_budget: int = 4000,
        **kwargs: Any,
    ) -> None:
        if max_turns < 1:
            raise ConfigError("max_turns must be at least 1", field="max_turns")
        super().__init__(function_list=function_list, llm=llm, name=name, description=description, **kwargs)
        self.system_message = system_message or ""
        self.max_turns = max_turns
        self.knowledge_budget = knowledge_budget
        self.files = [str(f) for f in files or []]
        self._knowledge_uuid = _index_files(self.files) if self.files else None
        self.last_run = RunRecord()

    def run(self, messages: Sequence[Message | dict[str, Any]], **kwargs: Any) -> Iterator[Responses]:
        """Yield the response so far (a new list each time). Keywords go to the tools' ``call``,
        with ``messages=`` (the conversation so far as message dicts, the calls being made last) as
        Qwen-Agent gives it; ``lang`` ('zh' or 'en') picks the knowledge heading."""
        llm = self.require_llm()
        lang = kwargs.pop("lang", None)
        parallel = default_parallel(llm, kwargs.pop("parallel_function_calls", None))
        choice = kwargs.pop("function_choice", None)
        record = RunRecord(messages=self._prompt(to_messages(messages), lang))
        given = [m.model_dump(mode="json", exclude_none=True) if isinstance(m, Message) else m for m in messages]
        self.last_run = record
        response: Responses = []
        turn = TurnRenderer()
        tool_kwargs = dict(kwargs)  # its "messages" is set at each turn's end, before that turn's calls run
        loop = run_tool_loop(
            llm, record, self.function_map, max_turns=self.max_turns, partial_calls=True,
            call_opts={"tool_choice": choice, "parallel_tool_calls": parallel}, tool_kwargs=tool_kwargs,
        )  # fmt: skip
        for event in loop:
            if isinstance(event, TurnEnd):
                response += turn.messages
                turn = TurnRenderer()
                if "messages" not in kwargs:
                    tool_kwargs["messages"] = [*given, *snapshot(response)]
            elif isinstance(event, ToolResult):
                response.append(function_message(event.call.function.name, event.content))
                yield snapshot(response)
            elif isinstance(event, TurnCap):
                response.append({"role": "assistant", "content": event.note})
                yield snapshot(response)
            elif turn.add(event):
                yield snapshot(response + turn.messages)

    def run_nonstream(self, messages: Sequence[Message | dict[str, Any]], **kwargs: Any) -> Responses:
        """The final list of response messages."""
        last: Responses = []
        for last in self.run(messages, **kwargs):  # noqa: B007  (the last one is the answer)
            pass
        return last

    def _prompt(self, messages: list[Message], lang: str | None) -> list[Message]:
        if not messages:
            raise ConfigError("messages is empty: pass at least [{'role': 'user', 'content': ...}]", field="messages")
        system = self.system_message
        if messages[0].role == "system":
            system = "\n\n".join(p for p in (system, messages[0].content) if p)
            messages = messages[1:]
        knowledge = self._knowledge(messages, lang)
        system = "\n\n".join(p for p in (system, knowledge) if p)
        return [Message(role="system", content=system), *messages] if system else messages

    def _knowledge(self, messages: list[Message], lang: str | None) -> str:
        if self._knowledge_uuid is None:
            return ""
        query = next((m.content for m in reversed(messages) if m.role == "user"), "")
        found = _store().search(self._knowledge_uuid, query, budget=self.knowledge_budget)
        if not found:
            return ""
        lang = lang or ("zh" if any("\u4e00" <= ch <= "\u9fff" for ch in query) else "en")
        by_file: dict[str, list[str]] = {}
        for p in found:
            by_file.setdefault(p.name, []).append(p.text)
        # Qwen-Agent's form: the source as a link, passages of one file joined by an ellipsis
        snippets = [_SNIPPET[lang].format(source=f"[文件]({n})", content="\n\n...\n\n".join(t)) for n, t in by_file.items()]
        return _KNOWLEDGE[lang].format(knowledge="\n\n".join(snippets))


def _store() -> Any:
    from msagent.knowledge import KnowledgeStore
    from msagent.settings import data_dir

    return KnowledgeStore(data_dir("knowledge"))


def _index_files(files: list[str]) -> str:
    """Index the local files (as /v1/files does) under a uuid of their own; returns it."""
    paths = []
    for f in files:
        if f.startswith(("http://", "https://")):
            raise ConfigError(f"files: {f} is a URL; download it and pass the local path", field="files")
        path = Path(f).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"files: {f} is not a readable file", field="files")
        paths.append(path)
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise ConfigError(f"files: two files share a name ({', '.join(names)}); rename one", field="files")
    uuid = "assistant-" + hashlib.sha256("\n".join(map(str, sorted(paths))).encode()).hexdigest()[:24]
    store = _store()
    for path in paths:
        store.add(uuid, path.name, path.read_bytes())
    return uuid
