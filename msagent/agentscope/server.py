"""``AgentServer``: the Ray actor that hosts distributed agents (one by default, many when shared).

``agent.to_dist()`` makes one with ``create_component(AgentServer, ..., remote=True)`` and builds
the agent in it from its class and constructor arguments. Calls arrive as
``call(agent_id, caller, ticket, method, args, kwargs, after, after_errors)``:

- calls of one caller run in ticket order (an async actor runs coroutines as they come; the
  ticket restores the caller's order), calls of one agent one at a time, agents side by side;
- ``args`` may hold Ray references (another agent's pending reply): they are awaited here, so the
  driver never waits for them; ``after`` lists references to wait for first (a hub's previous
  messages), their errors raised or ignored (``after_errors``);
- the agent's method runs on a worker thread (models block); an error in a call that returns
  nothing (``observe``, a hub's delivery) is kept and raised by the agent's next call.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType
from typing import Any

from msagent.agentscope.model_configs import install
from msagent.agentscope.session import show_chat
from msagent.errors import AgentDiedError, ConfigError

_SIDE_CALLS = {"observe", "_hub_drain"}


def _is_ref(value: Any) -> bool:
    kind = type(value)
    return kind.__name__ == "ObjectRef" and kind.__module__.startswith("ray")


async def _resolve(value: Any) -> Any:
    """``value`` with every Ray reference in it (also in lists and tuples) replaced by its value."""
    if _is_ref(value):
        return await value
    if isinstance(value, (list, tuple)) and any(_is_ref(v) or isinstance(v, (list, tuple)) for v in value):
        items = [await _resolve(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


class _Turns:
    """Lets a caller's calls through in ticket order."""

    def __init__(self) -> None:
        self.next = 0
        self._waiting: dict[int, asyncio.Future[None]] = {}

    async def wait(self, ticket: int) -> None:
        while self.next != ticket:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting[ticket] = future
            await future

    def advance(self) -> None:
        self.next += 1
        future = self._waiting.pop(self.next, None)
        if future is not None and not future.done():
            future.set_result(None)


class AgentServer:
    # waiting coroutines are cheap; no restarts: the agents' state lives in this process only, so a
    # crashed server is reported (AgentDiedError), not replaced by an empty one
    actor_defaults = MappingProxyType({"max_concurrency": 10_000, "max_restarts": 0})

    def __init__(self, name: str = "agent-server", threads: int = 64, restarted: bool = False) -> None:
        self.name = name
        self._restarted = restarted  # restarted anyway (actor options): the agents built before are gone
        self._agents: dict[str, Any] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._turns: dict[tuple[str, str], _Turns] = {}
        self._errors: dict[str, BaseException] = {}
        self._ready: dict[str, asyncio.Event] = {}
        self._failed: dict[str, BaseException] = {}
        self._pool = ThreadPoolExecutor(max_workers=max(1, int(threads)), thread_name_prefix="agent")
        # agents call the Environment (ray.get) on those worker threads, never on the event loop;
        # Ray's warning about blocking gets in async actors does not apply
        os.environ.setdefault("RAY_WARN_BLOCKING_GET_INSIDE_ASYNC", "0")

    async def _run(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def create(
        self,
        agent_id: str,
        cls: type,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        configs: list[dict[str, Any]],
        chat_level: int | None = None,
    ) -> dict[str, Any]:
        """Build ``cls(*args, **kwargs)`` here (with the driver's model configs); its public facts.
        Calls that arrive first wait for it; if it fails, they raise its error. ``chat_level``: the
        driver shows the chat log, so this actor does too (Ray forwards it to the driver's console)."""
        ready = self._ready.setdefault(agent_id, asyncio.Event())
        try:
            if agent_id in self._agents:
                raise ConfigError(f"agent id {agent_id!r} is taken on agent server {self.name!r}")
            install(configs)
            if chat_level is not None:
                show_chat(chat_level)
            agent = await self._run(lambda: cls(*args, **kwargs))
            self._agents[agent_id] = agent
            return {"name": agent.name, "sys_prompt": getattr(agent, "sys_prompt", None), "class": cls.__name__}
        except Exception as e:
            self._failed[agent_id] = e
            raise
        finally:
            ready.set()

    async def _agent(self, agent_id: str) -> Any:
        if self._restarted and agent_id not in self._ready:
            raise AgentDiedError(
                f"agent server {self.name!r} was restarted after a crash and lost agent {agent_id!r}; "
                "create the agent again with to_dist()", agent=agent_id,
            )  # fmt: skip
        await self._ready.setdefault(agent_id, asyncio.Event()).wait()
        failed = self._failed.get(agent_id)
        if failed is not None:
            raise failed
        return self._agents[agent_id]

    async def call(
        self,
        agent_id: str,
        caller: str,
        ticket: int,
        method: str,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        after: list[Any] | None = None,
        after_errors: str = "raise",
    ) -> Any:
        turns = self._turns.setdefault((agent_id, caller), _Turns())
        await turns.wait(ticket)
        try:
            return await self._call(agent_id, method, args, kwargs or {}, after or [], after_errors)
        except Exception as e:
            if method in _SIDE_CALLS:  # nobody reads this call's result: the agent's next call raises it
                self._errors[agent_id] = e
            raise
        finally:
            turns.advance()

    async def _call(
        self, agent_id: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], after: list[Any],
        after_errors: str,
    ) -> Any:  # fmt: skip
        for ref in after:
            try:
                await ref
            except Exception:
                if after_errors == "raise":
                    raise
        values = await _resolve(tuple(args))
        keywords = {k: await _resolve(v) for k, v in kwargs.items()}
        agent = await self._agent(agent_id)
        async with self._locks.setdefault(agent_id, asyncio.Lock()):
            kept = self._errors.pop(agent_id, None)
            if kept is not None:
                raise kept
            target = functools.reduce(getattr, method.split("."), agent)
            return await self._run(functools.partial(target, *values, **keywords))

    async def remove(self, agent_id: str) -> bool:
        # the callers' turns stay: their next calls must get through (and fail), never wait forever
        self._locks.pop(agent_id, None)
        self._errors.pop(agent_id, None)
        self._failed[agent_id] = ConfigError(f"agent {agent_id!r} was removed from agent server {self.name!r}")
        self._ready.setdefault(agent_id, asyncio.Event()).set()
        return self._agents.pop(agent_id, None) is not None

    async def info(self) -> dict[str, Any]:
        return {"name": self.name, "pid": os.getpid(), "agents": {i: a.name for i, a in self._agents.items()}}
