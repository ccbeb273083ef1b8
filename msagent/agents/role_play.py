"""``RolePlay``: an agent that plays a role, calls tools in a loop and streams its answer.

Each model turn may request several tool calls; all of them run (in the order requested) and every
result goes back to the model as its own tool message, until a turn without calls or ``max_turns``.
Tool failures (unknown tool, bad arguments, errors) become observations the model sees.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from msagent.agents.base import Agent, ToolItem
from msagent.agents.env_mixin import AgentEnvMixin
from msagent.agents.prompt import system_prompt
from msagent.errors import ConfigError
from msagent.llm import ChatModel, ChatResult, LLMConfig, TextDelta, Usage
from msagent.memory import Memory
from msagent.schemas import Message, ToolCall
from msagent.tools import call_tool

log = logging.getLogger(__name__)

DEFAULT_MAX_TURNS = 8
# history from memory is trimmed to this many estimated tokens (whole turns, newest kept); None = all
DEFAULT_HISTORY_BUDGET_TOKENS = 6000
# run() keywords passed to the model call; others are ignored (callers pass request extras through)
GENERATION_KEYS = (
    "temperature", "top_p", "top_k", "seed", "max_tokens", "stop",
    "presence_penalty", "frequency_penalty", "repetition_penalty",
)  # fmt: skip


@dataclass
class RunRecord:
    """The transcript of one ``run``: every message the model saw or produced, and the usage."""

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
        call_opts = {
            "tool_choice": kwargs.pop("tool_choice", "auto"),
            "parallel_tool_calls": bool(kwargs.pop("parallel_tool_calls", True)),
        }
        settings = dict(kwargs.pop("generate_cfg", None) or {})
        settings.update({k: kwargs.pop(k) for k in GENERATION_KEYS if k in kwargs})
        if kwargs:
            log.debug("RolePlay.run ignores %s", sorted(kwargs))
        specs = self.tool_specs
        prior = self._history(history)
        name = self.name if self._named else None  # a defaulted name is not a role to play
        system = system_prompt(self.instruction, name, self.description, specs, knowledge)
        record = RunRecord(messages=[Message(role="system", content=system), *prior, Message(role="user", content=query)])
        self.last_run = record
        said = ""
        for turn in range(max_turns):
            result = ChatResult()
            events = llm.chat(record.messages, tools=specs or None, stream=True, **call_opts, **settings)
            for event in events:
                result.add(event)
                if isinstance(event, TextDelta) and event.text:
                    # text of a later turn starts on a new line, not glued to the previous turn's
                    first_of_turn = result.text == event.text
                    glued = first_of_turn and said and not said[-1].isspace() and not event.text[0].isspace()
                    chunk = "\n" + event.text if glued else event.text
                    said += chunk
                    yield chunk
            record.model_turns += 1
            record.usage = record.usage + result.usage
            record.messages.append(
                Message(role="assistant", content=result.text, tool_calls=result.tool_calls or None)
            )
            if not result.tool_calls:
                break
            record.messages += self._execute(result.tool_calls)
            record.tool_calls += len(result.tool_calls)
            if turn == max_turns - 1:
                record.hit_turn_cap = True
                note = f"\n[stopped: the model still wanted tools after {max_turns} turns (max_turns)]"
                record.messages.append(Message(role="assistant", content=note.strip()))
                yield note
        if self.memory is not None and history is None:
            self.memory.add(record.new_messages())
            if self.memory.path is not None:
                self.memory.save()

    def _history(self, history: Sequence[Message | dict] | None) -> list[Message]:
        if history is not None:
            return [m if isinstance(m, Message) else Message.model_validate(m) for m in history]
        if self.memory is not None:
            return self.memory.history(budget_tokens=self.history_budget_tokens)
        return []

    def _execute(self, calls: list[ToolCall]) -> list[Message]:
        """Run every call in the order requested; one tool message per call, errors included."""
        return [
            Message(
                role="tool",
                content=call_tool(self.function_map, call),
                tool_call_id=call.id,
                name=call.function.name,
            )
            for call in calls
        ]
