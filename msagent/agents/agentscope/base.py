"""AgentScope's ``AgentBase``: ``reply(x) -> Msg``, ``observe(x)``, and ``agent(x)``.

``AgentBase(name, sys_prompt=None, model_config_name=None, use_memory=True, memory_config=None)``
(``model_or_config_name=`` takes a config name, a config dict or a model wrapper). Calling the
agent runs ``reply`` and, inside ``msghub``, hands the reply to the other participants. Any agent
moves into a Ray actor with ``agent.to_dist()`` or ``SomeAgent(..., to_dist=True)``; the calls stay
the same (they return placeholders, see ``msagent.agentscope.placeholder``).

The hub steps (``_hub_turn``, ``_hub_drain``) run where the agent lives, here or in its actor:
read the agent's mail from the hub's Environment, ``observe`` it, reply, publish the reply and
acknowledge the mail in one commit.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from msagent.agents.agentscope.memory import TemporaryMemory
from msagent.agentscope.models import ModelWrapperBase, load_model_by_config, load_model_by_config_name
from msagent.errors import ConfigError
from msagent.message import Msg, content_text, from_message
from msagent.runtime.calls import call

if TYPE_CHECKING:
    from msagent.agentscope.hub import MsgHubManager
    from msagent.agentscope.route import HubRoute

chat_log = logging.getLogger("msagent.chat")


class _AgentMeta(type):
    """Keeps each agent's constructor arguments (``to_dist`` rebuilds the agent in an actor from
    them) and turns ``to_dist=True`` into a distributed agent."""

    def __call__(cls, *args: Any, to_dist: bool | dict[str, Any] = False, **kwargs: Any) -> Any:
        if to_dist:
            from msagent.agentscope.distributed import distribute

            return distribute(cls, args, kwargs, **(to_dist if isinstance(to_dist, dict) else {}))
        agent = super().__call__(*args, **kwargs)
        agent._init_settings = (args, kwargs)
        return agent


def _model(model_config_name: Any, model_or_config_name: Any) -> ModelWrapperBase | None:
    if model_config_name is not None and model_or_config_name is not None:
        raise ConfigError("pass either model_config_name or model_or_config_name, not both")
    chosen = model_or_config_name if model_or_config_name is not None else model_config_name
    if chosen is None or isinstance(chosen, ModelWrapperBase):
        return chosen
    if isinstance(chosen, str):
        return load_model_by_config_name(chosen)
    if isinstance(chosen, dict):
        return load_model_by_config(chosen)
    from msagent.llm import ChatModel

    if isinstance(chosen, ChatModel):  # an msagent model object (e.g. a scripted one in a test)
        from msagent.agentscope.models import wrap_chat_model

        return wrap_chat_model(chosen)
    raise ConfigError(f"a model is a config name, a config dict or a model wrapper, not {type(chosen).__name__}")


class AgentBase(metaclass=_AgentMeta):
    is_distributed = False
    _init_settings: tuple[tuple[Any, ...], dict[str, Any]] = ((), {})

    def __init__(
        self,
        name: str,
        sys_prompt: str | None = None,
        model_config_name: str | None = None,
        use_memory: bool = True,
        memory_config: dict[str, Any] | None = None,
        *,
        model_or_config_name: Any = None,
        to_dist: bool | dict[str, Any] = False,  # taken by the metaclass: the agent goes to an actor
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"an agent needs a non-empty name, got {name!r}")
        self.name = name
        self.sys_prompt = sys_prompt
        self.model_config_name = model_config_name if isinstance(model_config_name, str) else None
        if isinstance(model_or_config_name, str):
            self.model_config_name = model_or_config_name
        self.model = _model(model_config_name, model_or_config_name)
        self.use_memory = use_memory
        self.memory: Any = TemporaryMemory(memory_config) if use_memory else None
        self.agent_id = uuid.uuid4().hex
        self._hubs: list[MsgHubManager] = []  # the msghubs this agent is in, innermost last

    # --- what subclasses write --------------------------------------------------------------------
    def reply(self, x: Any = None) -> Msg:
        raise NotImplementedError(
            f"agent {self.name!r} ({type(self).__name__}) has no reply(x); subclasses of AgentBase implement it"
        )

    def observe(self, x: Any) -> None:
        """Remember ``x`` (one ``Msg`` or a list) without replying."""
        if self.memory is not None:
            self.memory.add(x)

    def speak(self, content: Any) -> None:
        """Show a message on the chat log (logger ``msagent.chat``)."""
        if isinstance(content, Msg):
            chat_log.info("%s: %s", content.get("name"), content_text(content.get("content")))
        else:
            chat_log.info("%s: %s", self.name, content_text(content))

    # --- calling ----------------------------------------------------------------------------------
    def __call__(self, x: Any = None) -> Msg:
        if self._hubs:
            return self._hubs[-1].speak(self, x)
        return self._reply_checked(x)

    def _reply_checked(self, x: Any = None) -> Msg:
        out = self.reply(x)
        if not isinstance(out, Msg):
            raise ConfigError(
                f"agent {self.name!r} ({type(self).__name__}): reply() returned {type(out).__name__}, "
                "not a Msg; return Msg(name, content)",
                agent=self.name,
            )
        return out

    @classmethod
    def _check_distributable(cls, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Raise when this agent cannot live in an actor (a terminal user, say)."""

    def to_dist(self, **options: Any) -> Any:
        """This agent rebuilt in a Ray actor (``server=`` puts it in a shared ``AgentServer``);
        what it remembers so far goes along."""
        from msagent.agentscope.distributed import distribute

        args, kwargs = self._init_settings
        remote = distribute(type(self), args, kwargs, **options)
        if self.memory is not None and self.memory.size():
            remote.observe(self.memory.get_memory())
        return remote

    # --- hub steps: here, or in the agent's actor --------------------------------------------------
    def _hub_drain(self, route: HubRoute, ack: bool = True) -> int | None:
        """Observe the agent's hub mail; returns the last sequence number read."""
        mail = call(route.env, "read_mail", route.role)
        if not mail:
            return None
        self.observe([from_message(d.message) for d in mail])
        if ack:
            call(route.env, "ack", route.role, mail[-1].seq)
        return int(mail[-1].seq)

    def _hub_turn(self, route: HubRoute, x: Any = None) -> Msg:
        """Speak in a hub: take in the mail, reply, publish the reply and acknowledge the mail."""
        read = self._hub_drain(route, ack=False)
        out = self._reply_checked(x)
        route.publish(out, ack_seq=read)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
