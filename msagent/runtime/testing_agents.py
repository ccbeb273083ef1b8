"""Reusable test agents: the mixin on a minimal model-driven agent, run the same locally and on Ray.

``EchoAgent(llm=..., name=..., instruction=None, **env_kwargs)``: ``llm`` is a ChatModel (e.g.
``ScriptedModel``/``FunctionModel``) or a config dict. ``model_prompts()`` returns what its model
received, per call, as ``[[(role, content), ...], ...]``, so tests can assert on real prompts.
``DigestAgent``: replies that are a function of everything the agent heard (crash and resume tests).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
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

    def process_id(self) -> int:
        """The process this agent runs in (tests kill it to simulate a crash)."""
        return os.getpid()


class EchoAgent(AgentEnvMixin, MiniAgent):
    """A role-playing test agent: the mixin over ``MiniAgent``."""


class DigestAgent(EchoAgent):
    """Deterministic and history-sensitive: each reply names the agent's turn and a digest of its
    prompt and whole history, streamed word by word (``chunk_delay_s`` apart). Two runs that gave
    an agent the same mail and the same history produce the same replies; a lost or repeated
    message changes every later digest. Its model config is not used."""

    def __init__(self, chunk_delay_s: float = 0.0, words: int = 6, **kwargs: Any) -> None:
        kwargs.setdefault("llm", {"model_server": "scripted", "replies": ["unused"]})
        super().__init__(**kwargs)
        self.chunk_delay_s = float(chunk_delay_s)
        self.words = int(words)

    def run(self, query: str, history: list[Message] | None = None, **kwargs: Any) -> Iterator[str]:
        past = list(history or [])
        self._prompts.append([*((m.role, m.content) for m in past), ("user", query)])
        digest = hashlib.sha1("\x1e".join([*(m.content for m in past), query]).encode()).hexdigest()[:10]
        text = f"{self.role} turn {len(past) // 2 + 1} [{digest}] " + " ".join(f"w{i}" for i in range(self.words))
        for piece in re.findall(r"\S+\s*", text):
            if self.chunk_delay_s:
                time.sleep(self.chunk_delay_s)
            yield piece
