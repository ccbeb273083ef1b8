"""``agent.to_dist()``: the agent moves into a Ray actor; the caller keeps a ``DistributedAgent``.

``to_dist(server=None, name=None, threads=4)``: without ``server`` the agent gets an
``AgentServer`` actor of its own (``create_component(..., remote=True)``); with one from
``launch_server()`` many agents share a process (an actor costs ~50 MiB: thousands of agents fit
this way). ``DistributedAgent`` answers the same calls as the agent: ``agent(x)`` and
``agent.reply(x)`` return a ``PlaceholderMsg`` at once, ``observe`` does not wait, ``memory`` reads
the remote memory. ``close()`` removes the agent (and its own actor).
"""

from __future__ import annotations

import inspect
import re
import threading
import uuid
from typing import TYPE_CHECKING, Any

from msagent.agents.agentscope.base import AgentBase
from msagent.agentscope import model_configs
from msagent.agentscope.placeholder import PlaceholderMsg, fetch
from msagent.agentscope.server import AgentServer
from msagent.errors import ConfigError
from msagent.message import Msg
from msagent.runtime.calls import call, is_actor
from msagent.runtime.component import create_component

if TYPE_CHECKING:
    from msagent.agentscope.route import HubRoute

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def _outbound(value: Any) -> Any:
    """What goes into an actor call: a pending placeholder as its reference (not waited for here)."""
    if isinstance(value, PlaceholderMsg):
        return value.ref if value.ref is not None else value.resolved()
    if isinstance(value, (list, tuple)) and not isinstance(value, Msg):
        items = [_outbound(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def launch_server(name: str | None = None, threads: int = 64, prefix_name: str | None = None) -> Any:
    """An ``AgentServer`` actor for many agents: ``agent.to_dist(server=launch_server())``."""
    from msagent.agentscope.session import current

    session = current()
    handle = create_component(
        AgentServer, name or f"agent-server-{uuid.uuid4().hex[:8]}", remote=True,
        prefix_name=prefix_name or session.prefix, force_new=True, threads=threads,
    )  # fmt: skip
    session.track(handle)
    return handle


def _bind(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The constructor's arguments by name, checked here before any actor starts."""
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)  # type: ignore[misc]
    except TypeError as e:
        raise ConfigError(f"{cls.__name__}(...) cannot take these arguments: {e}") from None
    bound.apply_defaults()
    return dict(bound.arguments)


def distribute(
    cls: type, args: tuple[Any, ...], kwargs: dict[str, Any], server: Any = None, name: str | None = None,
    threads: int = 4,
) -> DistributedAgent:  # fmt: skip
    """Build ``cls(*args, **kwargs)`` in an actor (its own, or ``server``) and return its proxy at
    once: the arguments and model config names are checked here, the agent is built in the actor
    behind its first calls (an error there is raised where their results are read, or by ``ready()``)."""
    if not (isinstance(cls, type) and issubclass(cls, AgentBase)):
        raise ConfigError(f"to_dist needs an AgentBase subclass, got {cls!r}")
    cls._check_distributable(args, kwargs)
    named = _bind(cls, args, kwargs)
    agent_name = named.get("name")
    if not isinstance(agent_name, str) or not agent_name.strip():
        raise ConfigError(f"an agent needs a non-empty name, got {agent_name!r}")
    for key in ("model_config_name", "model_or_config_name"):
        if isinstance(named.get(key), str):
            model_configs.get_model_config(named[key])  # unknown: the error lists the known ones
    owns = server is None
    if owns:
        label = name or f"{_UNSAFE.sub('_', agent_name)[:40] or 'agent'}-{uuid.uuid4().hex[:8]}"
        server = launch_server(label, threads=threads)
    elif not is_actor(server):
        raise ConfigError("to_dist(server=...) takes an AgentServer actor from launch_server()")
    agent_id = uuid.uuid4().hex
    from msagent.agentscope.session import chat_level

    created = server.create.remote(agent_id, cls, tuple(args), dict(kwargs), model_configs.snapshot(), chat_level())
    info = {"name": agent_name, "sys_prompt": named.get("sys_prompt"), "class": cls.__name__}
    return DistributedAgent(server, agent_id, info, owns_server=owns, created=created)


def _kill(handle: Any) -> None:
    import ray

    ray.kill(handle, no_restart=True)


class RemoteMemory:
    """The distributed agent's memory, read in its actor (calls wait for the answer)."""

    def __init__(self, agent: DistributedAgent) -> None:
        self._agent = agent

    def _ask(self, method: str, *args: Any) -> Any:
        return fetch(self._agent._submit(f"memory.{method}", args), self._agent.name)

    def get_memory(self, recent_n: int | None = None) -> list[Msg]:
        return list(self._ask("get_memory", recent_n))

    def size(self) -> int:
        return int(self._ask("size"))

    def add(self, memories: Any) -> None:
        self._ask("add", _outbound(memories))

    def delete(self, index: int | list[int]) -> None:
        self._ask("delete", index)

    def clear(self) -> None:
        self._ask("clear")


class DistributedAgent(AgentBase):
    """The caller's side of an agent that lives in an ``AgentServer`` actor."""

    is_distributed = True

    def __init__(
        self, server: Any, agent_id: str, info: dict[str, Any], owns_server: bool = False, created: Any = None
    ) -> None:
        # no AgentBase.__init__: model and memory live in the actor
        self.server = server
        self.agent_id = agent_id
        self.name = str(info["name"])
        self.sys_prompt = info.get("sys_prompt")
        self.agent_class = str(info.get("class", ""))
        self.model = None
        self.use_memory = True
        self._info = dict(info)
        self._owns_server = owns_server
        self._created = created  # the actor's build of the agent (None: built before this copy)
        self._caller = uuid.uuid4().hex  # calls of this caller keep their order in the actor
        self._ticket = 0
        self._submit_lock = threading.Lock()
        self._hubs = []
        self.memory = RemoteMemory(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # a copy in another process is another caller (its own order); it never owns the actor
        return (DistributedAgent, (self.server, self.agent_id, self._info, False))

    def _submit(
        self, method: str, args: tuple[Any, ...] = (), after: list[Any] | None = None, after_errors: str = "raise"
    ) -> Any:
        payload = tuple(_outbound(a) for a in args)
        with self._submit_lock:  # tickets are handed out in the order calls are sent
            ref = self.server.call.remote(
                self.agent_id, self._caller, self._ticket, method, payload, None, after or [], after_errors
            )
            self._ticket += 1  # only once sent: a call that could not be sent (say, unpicklable) leaves no gap
            return ref

    # --- the agent's calls ------------------------------------------------------------------------
    def reply(self, x: Any = None) -> Msg:
        return PlaceholderMsg(self._submit("_reply_checked", (x,)), self.name)

    _reply_checked = reply

    def observe(self, x: Any) -> None:
        self._submit("observe", (x,))

    def to_dist(self, **options: Any) -> DistributedAgent:
        return self

    def ready(self) -> DistributedAgent:
        """Wait until the agent is built in its actor (raises what its constructor raised)."""
        if self._created is not None:
            fetch(self._created, self.name)
        return self

    # --- hub steps, run in the actor --------------------------------------------------------------
    def hub_turn_async(self, route: HubRoute, x: Any, after: list[Any]) -> PlaceholderMsg:
        return PlaceholderMsg(self._submit("_hub_turn", (route, x), after=after), self.name)

    def hub_drain_async(self, route: HubRoute, after: list[Any]) -> Any:
        return self._submit("_hub_drain", (route,), after=after, after_errors="ignore")

    def close(self) -> None:
        """Remove the agent from its server; an actor of its own is stopped."""
        if self._owns_server:
            _kill(self.server)
        else:
            call(self.server, "remove", self.agent_id)

    def __repr__(self) -> str:
        return f"DistributedAgent(name={self.name!r}, class={self.agent_class!r})"
