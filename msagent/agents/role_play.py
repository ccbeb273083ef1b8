"""``RolePlay``: an agent that plays a role, calls tools in a loop and streams its answer.

Each model turn may request several tool calls; all of them run (at once where that is safe, see
``msagent.tools.parallel``) and every result goes back to the model as its own tool message, in the
order requested, until a turn without calls or ``max_turns`` (``loop.py``). Tool failures
(unknown tool, bad arguments, errors) become observations the model sees. The stream shows the tool
work as ModelScope-Agent does (``Action:`` / ``Action Input:`` / ``Observation:`` / ``Answer:``,
see ``trace.py``); what the agent publishes to an Environment is its answer alone. ``run``
keywords that are not settings go to the tools' ``call`` (e.g. an API key).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from msagent.agents.base import Agent, ToolItem
from msagent.agents.env_mixin import AgentEnvMixin
from msagent.agents.loop import DEFAULT_MAX_TURNS, RunRecord, run_tool_loop
from msagent.agents.prompt import system_prompt
from msagent.agents.trace import TraceWriter
from msagent.errors import ConfigError
from msagent.llm import ChatModel, LLMConfig
from msagent.memory import Memory
from msagent.schemas import Message

__all__ = ["DEFAULT_MAX_TURNS", "GENERATION_KEYS", "RolePlay", "RunRecord"]

# history from memory is trimmed to this many estimated tokens (whole turns, newest kept); None = all
DEFAULT_HISTORY_BUDGET_TOKENS = 6000
# run() keywords passed to the model call; the others go to the tools' call
GENERATION_KEYS = (
    "temperature", "top_p", "top_k", "seed", "max_tokens", "stop",
    "presence_penalty", "frequency_penalty", "repetition_penalty",
)  # fmt: skip


class RolePlay(AgentEnvMixin, Agent):
    """``RolePlay(function_list=None, llm=None, instruction=None, name=None, description=None,
    max_turns=8, memory=None, history_budget_tokens=6000, **kwargs)``.

    ``memory``: a ``Memory``, or True for one kept under ``storage_path`` (or the data dir, by
    name); run() then reads history from it (unless ``history=`` is given) and appends each turn.
    """

    def __init__(
        self,
        function_list: Sequence[ToolItem] | None = None,
        llm: ChatModel | LLMConfig | dict[str, Any] | None = None,
        instruction: str | dict[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        *,
        max_turns: int = DEFAULT_MAX_TURNS,
        memory: Memory | bool | None = None,
        history_budget_tokens: int | None = DEFAULT_HISTORY_BUDGET_TOKENS,
        **kwargs: Any,
    ) -> None:
        if isinstance(instruction, dict) and not name:
            name = instruction.get("name") or None
        self._named = bool(name or kwargs.get("role"))
        if not self._named:
            name = "assistant"  # the mixin needs a role; a standalone agent still works without one
        if max_turns < 1:
            raise ConfigError("max_turns must be at least 1", field="max_turns")
        super().__init__(
            function_list=function_list, llm=llm, instruction=instruction, name=name, description=description,
            **kwargs,
        )  # fmt: skip
        if self.name is None:
            self.name = self.role
        self.max_turns = max_turns
        self.history_budget_tokens = history_budget_tokens
        self.memory = self._make_memory(memory)
        self.last_run = RunRecord()

    def _make_memory(self, memory: Memory | bool | None) -> Memory | None:
        if isinstance(memory, Memory):
            return memory
        if memory or (memory is None and self.storage_path):
            mem = Memory(path=self.storage_path) if self.storage_path else Memory(name=self.name)
            if mem.path is not None and mem.path.exists():
                mem.load()
            return mem
        return None

    def _run(self, query: str, history: Sequence[Message | dict] | None = None, **kwargs: Any) -> Iterator[str]:
        llm = self.require_llm()
        knowledge = kwargs.pop("knowledge", None)
        max_turns = int(kwargs.pop("max_turns", self.max_turns))
        call_opts = {"tool_choice": kwargs.pop("tool_choice", None), "parallel_tool_calls": kwargs.pop("parallel_tool_calls", None)}
        settings = dict(kwargs.pop("generate_cfg", None) or {})
        settings.update({k: kwargs.pop(k) for k in GENERATION_KEYS if k in kwargs})
        prior = self._history(history)
        name = self.name if self._named else None  # a defaulted name is not a role to play
        system = system_prompt(self.instruction, name, self.description, self.tool_specs, knowledge)
        record = RunRecord(messages=[Message(role="system", content=system), *prior, Message(role="user", content=query)])
        self.last_run = record
        trace = TraceWriter()
        loop = run_tool_loop(
            llm, record, self.function_map, max_turns=max_turns, call_opts=call_opts, settings=settings,
            tool_kwargs=kwargs,  # what is left is for the tools (e.g. dashscope_api_key)
        )  # fmt: skip
        for event in loop:
            chunk = trace.render(event)
            if chunk:
                yield chunk
        if self.memory is not None and history is None:
            self.memory.add(record.new_messages())
            if self.memory.path is not None:
                self.memory.save()

    def reply_of_run(self, streamed: str) -> str:
        """An Environment gets the answer, not the tool trace the stream showed."""
        return self.last_run.answer if self.last_run.messages else streamed

    def _history(self, history: Sequence[Message | dict] | None) -> list[Message]:
        if history is not None:
            return [m if isinstance(m, Message) else Message.model_validate(m) for m in history]
        if self.memory is not None:
            return self.memory.history(budget_tokens=self.history_budget_tokens)
        return []
