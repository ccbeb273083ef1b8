"""``DialogAgent``: system prompt + memory -> model -> ``Msg``."""

from __future__ import annotations

from typing import Any

from msagent.agents.agentscope.base import AgentBase
from msagent.agentscope.prompt import to_chat
from msagent.errors import ConfigError, ModelError
from msagent.message import Msg, iter_msgs
from msagent.schemas import Message


class DialogAgent(AgentBase):
    def __init__(
        self,
        name: str,
        sys_prompt: str | None = None,
        model_config_name: str | None = None,
        use_memory: bool = True,
        memory_config: dict[str, Any] | None = None,
        *,
        model_or_config_name: Any = None,
        to_dist: bool | dict[str, Any] = False,
    ) -> None:
        super().__init__(
            name, sys_prompt, model_config_name, use_memory, memory_config, model_or_config_name=model_or_config_name
        )
        if self.model is None:
            raise ConfigError(f"{type(self).__name__} {name!r} needs a model: pass model_config_name=...")

    def prompt(self, x: Any = None) -> list[Message]:
        """Remember ``x``; the chat messages for the model (system prompt, then what it remembers)."""
        if self.memory is not None:
            self.memory.add(x)
            history = self.memory.get_memory()
        else:
            history = list(iter_msgs(x))
        messages = to_chat(history, me=self.name, sys_prompt=self.sys_prompt)
        # nothing to send (no system prompt, nothing heard): chat APIs refuse an empty list
        return messages or to_chat([], sys_prompt=f"You are {self.name}.")

    def ask(self, messages: list[Message]) -> str:
        assert self.model is not None
        response = self.model(messages)
        if response.text is None:
            raise ModelError(
                f"agent {self.name!r}: model config {self.model.config_name!r} answered no reply text "
                f"({str(response.raw)[:200]}); for a post_api model, set 'response_path' to where the text is"
            )
        return response.text

    def reply(self, x: Any = None) -> Msg:
        msg = Msg(self.name, self.ask(self.prompt(x)), role="assistant")
        self.speak(msg)
        if self.memory is not None:
            self.memory.add(msg)
        return msg
