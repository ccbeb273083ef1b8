"""Agent pools: many agents in one actor, behind the same interface as an agent.

One actor per agent costs ~50 MiB and ~0.3 s to start, so a machine holds a few hundred. An
``AgentPool`` hosts N agent objects in one process; ``PooledAgent(pool, role)`` is a small picklable
reference that answers the agent calls the Task Center makes (``agent_info``, ``set_env``, ``step``,
``set_human_input_mode``, anything else via ``call_agent``). ``PoolTaskCenter`` is the Task Center
that knows pools: it registers a pool's agents in batched calls and steps all of a pool's chosen
agents with ONE streaming call (``step_many``), which reads their mail in one Environment call,
runs their steps and commits the finished agents' replies with their acknowledgements in batches
while the others still run (``pool_flush.py``: every 0.1 s or 1,024 replies). Frames stream in
small batches (flushed at least every 20 ms), so a round of 10,000 agents makes a few dozen
Environment calls instead of 30,000, and a slow model's round ends soon after its last reply.

A pool actor is restarted by Ray like an agent: it builds its agents again from its constructor
arguments, finds its environment again and gives them their history back from the log; a
``step_many`` cut by the crash is retried as a whole (``attempt=2``: replies already published are
replayed, the others run again).

``BatchEnvironment`` is the Environment with those batched calls and routing that costs
O(recipients) for addressed mail (the base class scans every role per message).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from environment.env import Delivery, Environment, derived_id
from environment.routing import WatchAll
from environment.sharded import find_sharded
from msagent.errors import AgentDisabledError, ConfigError, DuplicateRoleError, NoEnvironmentError
from msagent.runtime.attach import discard_attachment, find_actor, load_attachment, save_attachment
from msagent.runtime.calls import call, is_actor, is_remote, iter_call
from msagent.runtime.component import create_component
from msagent.runtime.fanout import Stream
from msagent.runtime.ids import ComponentId
from msagent.runtime.pool_flush import Flusher, MailView
from msagent.schemas import Message
from task_center.center import ENV_NAME, TaskCenter

_FLUSH_S = 0.02
_FIRST_FLUSH_S = 0.002  # least time between two flushes for first frames
_BATCH = 2048
log = logging.getLogger(__name__)
HISTORY_TURNS = 200


class BatchEnvironment(Environment):
    """The Environment plus batched mail calls, for pools stepping thousands of roles."""

    def _watchers(self) -> list[str]:
        cached: list[str] | None = getattr(self, "_watcher_cache", None)
        if cached is None or getattr(self, "_watcher_cache_n", -1) != len(self._subs):
            cached = [r for r, s in self._subs.items() if isinstance(s, WatchAll)]
            self._watcher_cache, self._watcher_cache_n = cached, len(self._subs)
        return cached

    def _route(self, sender: str, msg: Message) -> tuple[list[str], tuple[str, ...] | None, tuple[str, ...]]:
        explicit = msg.recipients()
        if explicit is None:
            return super()._route(sender, msg)
        explicit = self._mine(explicit)
        for role in explicit:
            self._known(role)
            if not self._enabled[role]:
                raise AgentDisabledError(
                    f"role {role!r} is disabled; enable it before sending to it", role=role
                )
        # same result as the base class (addressed roles + watchers, never the sender), in O(k)
        targets = list(dict.fromkeys(r for r in explicit if r != sender))
        targets += [w for w in self._watchers() if w != sender and self._enabled[w] and w not in targets]
        return targets, tuple(targets), ()

    def read_mail_many(self, roles: Sequence[str], until_seq: int | None = None) -> dict[str, list[Delivery]]:
        with self._lock:
            return {str(r): self.read_mail(r, until_seq) for r in roles}

    def ack_many(self, acks: Mapping[str, int]) -> None:
        """Acknowledgements of many roles in one commit."""
        self.store_messages([], acks=list(acks.items()))


class AgentPool:
    """N agents in one process: ``AgentPool(name, concurrency, agent_class, kwargs_list)`` builds them
    (``spawn`` adds more, but only constructor agents come back after a restart)."""

    actor_defaults = MappingProxyType({"max_concurrency": 8, "max_restarts": -1})

    def __init__(
        self,
        name: str = "pool",
        concurrency: int = 1,
        agent_class: type | None = None,
        kwargs_list: Sequence[dict[str, Any]] = (),
        prefix_name: str | None = None,
        remote: bool = False,
        restarted: bool = False,
    ) -> None:
        self.name = name
        self.concurrency = max(1, int(concurrency))
        self._agents: dict[str, Any] = {}
        self._env: Any = None
        self._component = ComponentId(name, prefix_name).actor_name
        self._prefix_name = prefix_name
        self._remote = remote
        self._restarted = restarted
        if agent_class is not None:
            self.spawn(agent_class, kwargs_list)

    @classmethod
    def discard_state(cls, name: str = "pool", prefix_name: str | None = None, **_: Any) -> None:
        discard_attachment(ComponentId(name, prefix_name).actor_name)

    def spawn(self, cls: type, kwargs_list: Sequence[dict[str, Any]]) -> list[str]:
        roles = []
        for kwargs in kwargs_list:
            agent = cls(**kwargs)
            role = agent.get_role()
            if role in self._agents:
                raise DuplicateRoleError(f"pool {self.name!r} already hosts role {role!r}", role=role)
            self._agents[role] = agent
            roles.append(role)
        return roles

    def roles(self) -> list[str]:
        return list(self._agents)

    def __len__(self) -> int:
        return len(self._agents)

    def agent_infos(self) -> list[Any]:
        return [a.agent_info() for a in self._agents.values()]

    def set_env(self, env: Any, env_name: str | None = None) -> None:
        """Hand every agent ``env``; their history comes back from the log in one call."""
        self._env = env
        if env_name and self._remote and is_remote(env):
            save_attachment(self._component, env_name)
        needy = [r for r, a in self._agents.items() if getattr(a, "_use_history", False) and not a._env_history]
        turns = call(env, "get_conversations", needy, HISTORY_TURNS) if needy else {}
        for role, agent in self._agents.items():
            agent.set_env(env, history=turns.get(role, []))

    def _require_env(self) -> Any:
        if self._env is None and self._restarted and self._remote:
            for name in (load_attachment(self._component), ComponentId(ENV_NAME, self._prefix_name).actor_name):
                handle = (find_actor(name) or find_sharded(name)) if name else None
                if handle is not None:
                    self.set_env(handle, name)
                    break
        if self._env is None:
            raise NoEnvironmentError(f"pool {self.name!r} has no environment: add its agents to a TaskCenter")
        return self._env

    def _agent(self, role: str) -> Any:
        try:
            return self._agents[role]
        except KeyError:
            raise ConfigError(f"pool {self.name!r} hosts no role {role!r}", role=role) from None

    def call_agent(self, role: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._agent(role), method)(*args, **kwargs)

    def close_agents(self) -> None:
        """Release what the hosted agents hold (their tools' processes and clients), where they can."""
        for agent in self._agents.values():
            close = getattr(agent, "close", None)
            if callable(close):
                close()

    def call_all(self, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The same call on every hosted agent: ``{role: result}``."""
        return {role: getattr(a, method)(*args, **kwargs) for role, a in self._agents.items()}

    def step_one(self, role: str, **kwargs: Any) -> Iterator[str]:
        self._require_env()
        yield from self._agent(role).step(**kwargs)

    def step_many(self, items: Sequence[tuple[str, dict[str, Any]]], attempt: int = 1) -> Iterator[list[str]]:
        """Step the given roles (``[(role, step_kwargs), ...]``); yields batches of frames."""
        env = self._require_env()
        from msagent.agents.env_mixin import RETRY_NOTICE

        items = [(r, dict(kw)) for r, kw in items]
        if attempt > 1:  # the pool died during this call: replay what got published, run the rest
            yield [f"{r}: {RETRY_NOTICE}" for r, _ in items]
            ids = {r: derived_id(str(kw["step_id"])) for r, kw in items if kw.get("step_id")}
            done = {d.message.id: d.message for d in call(env, "find_messages", list(ids.values()))} if ids else {}
            replayed = [r for r, _ in items if ids.get(r) in done]
            if replayed:
                yield [f"{r}: {done[ids[r]].content}" for r in replayed]
            items = [(r, kw) for r, kw in items if r not in replayed]
            if not items:
                return
        agents = [(self._agent(r), kw) for r, kw in items]
        until = agents[0][1].get("mail_until_seq")
        roles = [r for r, _ in items]
        if is_actor(env) or hasattr(env, "read_mail_many"):
            mail = call(env, "read_mail_many", roles, until)
        else:
            mail = {r: call(env, "read_mail", r, until) for r in roles}
        view = MailView(env, mail)
        errors: list[BaseException] = []
        # finished agents' replies are committed while the others still run (pool_flush.py)
        flusher = Flusher(self._env, view, errors, name=self.name).start()
        try:
            yield from self._batches(self._frames(agents, view, errors), len(agents), flusher)
        finally:
            flusher.finish()
        if flusher.failed is not None:
            raise flusher.failed
        if errors:
            raise errors[0]

    def _batches(self, frames: Iterator[str], speakers: int, flusher: Flusher) -> Iterator[list[str]]:
        batch: list[str] = []
        last = 0.0
        spoken: set[str] = set()
        for frame in frames:
            batch.append(frame)
            now = time.monotonic()
            # an agent's first frame goes out at once (first-frame latency), unless a batch just
            # went (thousands of instant agents would otherwise cost one Ray item each)
            first = False
            if len(spoken) < speakers:
                role = frame.split(":", 1)[0]
                first = role not in spoken
                spoken.add(role)
            wait = now - last
            if (first and wait >= _FIRST_FLUSH_S) or len(batch) >= _BATCH or wait >= _FLUSH_S:
                yield batch
                batch, last = [], now
        flusher.finish_soon()  # the last replies' commit overlaps the last frames' trip
        if batch:
            yield batch

    def _frames(
        self, agents: list[tuple[Any, dict]], view: MailView, errors: list[BaseException]
    ) -> Iterator[str]:
        def run(agent: Any, kwargs: dict, emit: Any) -> None:
            agent.use_env(view)
            try:
                for frame in agent.step(**kwargs):
                    emit(frame)
            except Exception as e:  # one failing agent does not stop the others
                errors.append(e)
            finally:
                agent.use_env(self._env)

        if self.concurrency == 1 or len(agents) == 1:
            for agent, kwargs in agents:
                agent.use_env(view)
                try:
                    yield from agent.step(**kwargs)
                except Exception as e:
                    errors.append(e)
                finally:
                    agent.use_env(self._env)
            return
        # ``concurrency`` threads take the next agent as they finish one (no future per agent)
        frames: queue.SimpleQueue[Any] = queue.SimpleQueue()
        done = object()
        todo = iter(agents)
        taking = threading.Lock()

        def work() -> None:
            try:
                while True:
                    with taking:
                        item = next(todo, None)
                    if item is None:
                        return
                    run(*item, frames.put)
            finally:
                frames.put(done)

        workers = [
            threading.Thread(target=work, name=f"pool-{self.name}-{i}", daemon=True)
            for i in range(min(self.concurrency, len(agents)))
        ]

        def start() -> None:  # each start waits for the GIL the running agents hold: not in this thread
            for worker in workers:
                worker.start()

        starter = threading.Thread(target=start, name=f"pool-{self.name}-start", daemon=True)
        starter.start()
        running = len(workers)
        try:
            while running:
                if (frame := frames.get()) is done:
                    running -= 1
                else:
                    yield frame
        finally:  # closed early: the agents still finish (their replies are committed)
            starter.join()
            for worker in workers:
                worker.join()


@dataclass(frozen=True)
class PooledAgent:
    """A reference to one agent in a pool; the Task Center treats it like an agent."""

    pool: Any
    role: str

    @property
    def portable_ref(self) -> bool:
        """A reference to a pool actor is kept by registries across restarts; a local pool's
        agents are objects of this process (pickling one would copy the whole pool)."""
        return is_actor(self.pool)

    def agent_info(self) -> Any:
        return call(self.pool, "call_agent", self.role, "agent_info")

    def get_role(self) -> str:
        return self.role

    def set_env(self, env: Any, env_name: str | None = None) -> None:
        call(self.pool, "call_agent", self.role, "set_env", env)

    def set_human_input_mode(self, mode: str) -> None:
        call(self.pool, "call_agent", self.role, "set_human_input_mode", mode)

    def step(self, **kwargs: Any) -> Iterator[str]:
        return iter_call(self.pool, "step_one", self.role, **kwargs)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return call(self.pool, "call_agent", self.role, method, *args, **kwargs)


def create_pool(
    cls: type,
    kwargs_list: Sequence[dict[str, Any]],
    name: str = "pool",
    remote: bool = False,
    prefix_name: str | None = None,
    concurrency: int = 1,
    actor_options: Mapping[str, Any] | None = None,
) -> list[PooledAgent]:
    """One pool (a plain object, or the actor ``{prefix}_{name}``) hosting ``cls(**kw)`` for each kw."""
    pool = create_component(
        AgentPool, name, remote=remote, prefix_name=prefix_name, force_new=True, concurrency=concurrency,
        agent_class=cls, kwargs_list=list(kwargs_list), actor_options=actor_options,
    )  # fmt: skip
    return [PooledAgent(pool, r) for r in call(pool, "roles")]


class PoolTaskCenter(TaskCenter):
    """The Task Center, with pooled agents registered and stepped a pool at a time."""

    env_class = BatchEnvironment

    def add_agents(self, agents: Sequence[Any]) -> list[str]:
        agents = list(agents)
        pooled = [a for a in agents if isinstance(a, PooledAgent)]
        roles = super().add_agents([a for a in agents if not isinstance(a, PooledAgent)])
        groups: dict[Any, list[PooledAgent]] = {}
        for a in pooled:
            groups.setdefault(a.pool, []).append(a)
        for pool, members in groups.items():
            if is_actor(pool) != is_remote(self.env):
                raise ConfigError("a pool and the environment must both be local or both be Ray actors")
            infos = {i.role: i for i in call(pool, "agent_infos")}
            with self._lock:
                for a in members:
                    if a.role not in infos:
                        raise ConfigError(f"pool hosts no role {a.role!r}", role=a.role)
                replaced = self._check_roles([(a, a.role) for a in members])
                mine = [infos[a.role] for a in members]
                call(
                    self.registry, "register_agents", {a.role: a for a in members},
                    humans=[i.role for i in mine if i.human_input_mode == "ON"], replace=True,
                )  # fmt: skip
                for watcher in (False, True):
                    names = [i.role for i in mine if i.is_watcher == watcher]
                    if names:
                        call(self.env, "register_roles", names, watcher)
                call(pool, "set_env", self.env, self._env_name)
                for a, info in zip(members, mine, strict=True):
                    self._agents[a.role] = a
                    if info.is_watcher:
                        self._watchers.add(a.role)
                self._revive(replaced)
                roles += [a.role for a in members]
        self._save_agents()
        return roles

    def _hand_env(self, agents: dict[str, Any]) -> None:
        pools = {a.pool for a in agents.values() if isinstance(a, PooledAgent)}
        for pool in pools:  # one call per pool, not one per pooled agent
            try:
                call(pool, "set_env", self.env, self._env_name)
            except Exception as e:  # noqa: BLE001  a dead pool is found out at its next step
                log.warning("pool task center: could not hand the environment to a pool again: %s", e)
        super()._hand_env({r: a for r, a in agents.items() if not isinstance(a, PooledAgent)})

    def _read_round(self, roles: list[str], until: Any = None) -> tuple[Any, dict[str, Any]]:
        # agents of their own get their mail with the round's start (as in TaskCenter); pools
        # read theirs in one call each
        standalone = [r for r in roles if not isinstance(self._agent(r), PooledAgent)]
        if standalone:
            return super()._read_round(standalone, until)
        return (call(self.env, "last_seq") if until is None else until), {}

    def _round_streams(self, roles: list[str], per_role: dict[str, dict[str, Any]]) -> list[Stream]:
        streams: list[Stream] = []
        by_pool: dict[Any, list[tuple[str, dict[str, Any]]]] = {}
        for r in roles:
            agent = self._agent(r)
            if isinstance(agent, PooledAgent):
                # pooled agents read their mail in one call per pool themselves
                by_pool.setdefault(agent.pool, []).append((r, per_role[r]))
            else:
                streams.append(Stream(agent, "step", per_role[r], roles=(r,)))
        streams += [
            Stream(pool, "step_many", args=(items,), batched=True, roles=tuple(r for r, _ in items))
            for pool, items in by_pool.items()
        ]
        return streams

    def close(self) -> None:
        super().close()
        pools = {a.pool for a in self._agents.values() if isinstance(a, PooledAgent)}
        for pool in pools:
            if is_actor(pool):
                import ray

                ray.kill(pool, no_restart=True)
