"""Reusable test agents: the mixin on a minimal model-driven agent, run the same locally and on Ray.

``EchoAgent(llm=..., name=..., instruction=None, **env_kwargs)``: ``llm`` is a ChatModel (e.g.
``ScriptedModel``/``FunctionModel``) or a config dict. ``model_prompts()`` returns what its model
received, per call, as ``[[(role, content), ...], ...]``, so tests can assert on real prompts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from msagent.agents.env_mixin import AgentEnvMixin
from msagent.llm import ChatModel, LLMConfig, TextDelta, get_chat_model
from msagent.schemas import Message


class MiniAgent:
    """The smallest agent with the ``run(query, history=None) -> Iterator[str]`` contract."""

    def __init__(
        self,
        llm: ChatModel | LLMConfig | dict | None = None,
        name: str | None = None,
        instruction: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.name = name
        self.instruction = instruction
        self.llm = get_chat_model(llm)
        self._prompts: list[list[tuple[str, str]]] = []

    def run(self, query: str, history: list[Message] | None = None, **kwargs: Any) -> Iterator[str]:
        messages = [Message(role="system", content=self.instruction)] if self.instruction else []
        messages += list(history or [])
        messages.append(Message(role="user", content=query))
        self._prompts.append([(m.role, m.content) for m in messages])
        for event in self.llm.chat(messages, stream=True):
            if isinstance(event, TextDelta) and event.text:
                yield event.text

    def model_prompts(self) -> list[list[tuple[str, str]]]:
        return list(self._prompts)


class EchoAgent(AgentEnvMixin, MiniAgent):
    """A role-playing test agent: the mixin over ``MiniAgent``."""
