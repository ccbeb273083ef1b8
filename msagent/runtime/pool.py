"""Agent pools: many agents in one actor, behind the same interface as an agent.

One actor per agent costs ~50 MiB and ~0.3 s to start, so a machine holds a few hundred. An
``AgentPool`` hosts N agent objects in one process; ``PooledAgent(pool, role)`` is a small picklable
reference that answers the agent calls the Task Center makes (``agent_info``, ``set_env``, ``step``,
``set_human_input_mode``, anything else via ``call_agent``). ``PoolTaskCenter`` is the Task Center
that knows pools: it registers a pool's agents in batched calls and steps all of a pool's chosen
agents with ONE streaming call (``step_many``), which reads their mail in one Environment call,
runs their steps, then publishes all replies in one commit and acknowledges in one call. Frames
stream in small batches (flushed at least every 20 ms), so a round of 10,000 agents makes a few
Environment calls instead of 30,000.

``BatchEnvironment`` is the Environment with those batched calls and routing that costs
O(recipients) for addressed mail (the base class scans every role per message).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from environment.env import Delivery, Environment
from environment.routing import WatchAll
from msagent.errors import AgentDisabledError, ConfigError, DuplicateRoleError, MsagentError
from msagent.runtime.calls import call, is_actor, iter_call
from msagent.runtime.component import create_component
from msagent.runtime.ids import ComponentId
from msagent.schemas import Message
from registry.registry import AgentRegistry
from task_center.center import ENV_NAME, REGISTRY_NAME, TaskCenter

_FLUSH_S = 0.02


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
        with self._lock:
            for role, seq in acks.items():
                self.ack(role, seq)


class _MailView:
    """What a pooled agent sees as its environment during ``step_many``: mail read up front,
    publishes and acks buffered so the pool flushes them in one call each."""

    def __init__(self, env: Any, mail: Mapping[str, list[Delivery]]) -> None:
        self._env = env
        self._mail = mail
        self._lock = threading.Lock()
        self.published: list[tuple[str, Message]] = []
        self.acks: dict[str, int] = {}

    def read_mail(self, role: str, until_seq: int | None = None) -> list[Delivery]:
        return list(self._mail.get(role, []))

    def store_message_from_role(self, role: str, message: Message | str) -> int:
        msg = (
            message
            if isinstance(message, Message)
            else Message(role=role, content=str(message), sent_from=role)
        )
        with self._lock:
            self.published.append((role, msg))
        return 0  # the sequence number is assigned at the flush

    def ack(self, role: str, seq: int) -> None:
        with self._lock:
            self.acks[role] = max(seq, self.acks.get(role, 0))

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **kw: call(self._env, name, *a, **kw)


class AgentPool:
    """N agents in one process. ``spawn(cls, kwargs_list)`` builds them; ``step_many`` steps many."""

    actor_defaults = MappingProxyType({"max_concurrency": 8})

    def __init__(self, name: str = "pool", concurrency: int = 1) -> None:
        self.name = name
        self.concurrency = max(1, int(concurrency))
        self._agents: dict[str, Any] = {}
        self._env: Any = None

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

    def set_env(self, env: Any) -> None:
        self._env = env
        for agent in self._agents.values():
            agent.set_env(env)

    def _agent(self, role: str) -> Any:
        try:
            return self._agents[role]
        except KeyError:
            raise ConfigError(f"pool {self.name!r} hosts no role {role!r}", role=role) from None

    def call_agent(self, role: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._agent(role), method)(*args, **kwargs)

    def call_all(self, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The same call on every hosted agent: ``{role: result}``."""
        return {role: getattr(a, method)(*args, **kwargs) for role, a in self._agents.items()}

    def step_one(self, role: str, **kwargs: Any) -> Iterator[str]:
        yield from self._agent(role).step(**kwargs)

    def step_many(self, items: Sequence[tuple[str, dict[str, Any]]]) -> Iterator[list[str]]:
        """Step the given roles (``[(role, step_kwargs), ...]``); yields batches of frames."""
        if self._env is None:
            from msagent.errors import NoEnvironmentError

            raise NoEnvironmentError(f"pool {self.name!r} has no environment: add its agents to a TaskCenter")
        agents = [(self._agent(r), dict(kw)) for r, kw in items]
        until = agents[0][1].get("mail_until_seq") if agents else None
        roles = [r for r, _ in items]
        if is_actor(self._env) or hasattr(self._env, "read_mail_many"):
            mail = call(self._env, "read_mail_many", roles, until)
        else:
            mail = {r: call(self._env, "read_mail", r, until) for r in roles}
        view = _MailView(self._env, mail)
        errors: list[BaseException] = []
        batch: list[str] = []
        last = 0.0
        spoken: set[str] = set()
        for frame in self._frames(agents, view, errors):
            batch.append(frame)
            now = time.monotonic()
            # an agent's first frame goes out at once (first-frame latency); later ones batch up
            first = False
            if len(spoken) < len(agents):
                role = frame.split(":", 1)[0]
                first = role not in spoken
                spoken.add(role)
            if first or len(batch) >= 512 or now - last >= _FLUSH_S:
                yield batch
                batch, last = [], now
        if batch:
            yield batch
        self._flush(view, errors)
        if errors:
            raise errors[0]

    def _frames(
        self, agents: list[tuple[Any, dict]], view: _MailView, errors: list[BaseException]
    ) -> Iterator[str]:
        def run(agent: Any, kwargs: dict, emit: Any) -> None:
            agent.set_env(view)
            try:
                for frame in agent.step(**kwargs):
                    emit(frame)
            except Exception as e:  # one failing agent does not stop the others
                errors.append(e)
            finally:
                agent.set_env(self._env)

        if self.concurrency == 1 or len(agents) == 1:
            for agent, kwargs in agents:
                agent.set_env(view)
                try:
                    yield from agent.step(**kwargs)
                except Exception as e:
                    errors.append(e)
                finally:
                    agent.set_env(self._env)
            return
        frames: queue.Queue[Any] = queue.Queue()
        done = object()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"pool-{self.name}") as ex:
            futures = [ex.submit(run, a, kw, frames.put) for a, kw in agents]

            def finish() -> None:
                for f in futures:
                    f.result()
                frames.put(done)

            ex.submit(finish)
            while (item := frames.get()) is not done:
                yield item

    def _flush(self, view: _MailView, errors: list[BaseException]) -> None:
        if view.published:
            try:
                call(self._env, "store_messages", view.published)
            except MsagentError:  # one bad recipient must not lose the others' replies
                for item in view.published:
                    try:
                        call(self._env, "store_messages", [item])
                    except MsagentError as e:
                        errors.append(e)
        if view.acks:
            if is_actor(self._env) or hasattr(self._env, "ack_many"):
                call(self._env, "ack_many", view.acks)
            else:
                for role, seq in view.acks.items():
                    call(self._env, "ack", role, seq)


@dataclass(frozen=True)
class PooledAgent:
    """A reference to one agent in a pool; the Task Center treats it like an agent."""

    pool: Any
    role: str

    def agent_info(self) -> Any:
        return call(self.pool, "call_agent", self.role, "agent_info")

    def get_role(self) -> str:
        return self.role

    def set_env(self, env: Any) -> None:
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
) -> list[PooledAgent]:
    """One pool (a plain object, or the actor ``{prefix}_{name}``) hosting ``cls(**kw)`` for each kw."""
    pool = create_component(
        AgentPool, name, remote=remote, prefix_name=prefix_name, force_new=True, concurrency=concurrency
    )
    return [PooledAgent(pool, r) for r in call(pool, "spawn", cls, list(kwargs_list))]


class PoolTaskCenter(TaskCenter):
    """The Task Center, with pooled agents registered and stepped a pool at a time."""

    def __init__(self, remote: bool = False, prefix_name: str | None = None, **kwargs: Any) -> None:
        prefix_name = prefix_name or (f"tc{uuid.uuid4().hex[:10]}" if remote else None)
        owned = []
        if kwargs.get("env") is None:
            kwargs["env"] = create_component(
                BatchEnvironment, ENV_NAME, remote=remote, prefix_name=prefix_name, force_new=True,
                instance_id=uuid.uuid4().hex, storage_path=kwargs.pop("storage_path", None),
                history_limit=kwargs.pop("history_limit", 1000), durable=kwargs.pop("durable", True),
            )  # fmt: skip
            owned.append(ComponentId(ENV_NAME, prefix_name).actor_name)
        if kwargs.get("registry") is None:
            kwargs["registry"] = create_component(
                AgentRegistry, REGISTRY_NAME, remote=remote, prefix_name=prefix_name, force_new=True
            )
            owned.append(ComponentId(REGISTRY_NAME, prefix_name).actor_name)
        super().__init__(remote=remote, prefix_name=prefix_name, **kwargs)
        self._owned = owned

    def add_agents(self, agents: Sequence[Any]) -> list[str]:
        agents = list(agents)
        pooled = [a for a in agents if isinstance(a, PooledAgent)]
        roles = super().add_agents([a for a in agents if not isinstance(a, PooledAgent)])
        groups: dict[Any, list[PooledAgent]] = {}
        for a in pooled:
            groups.setdefault(a.pool, []).append(a)
        for pool, members in groups.items():
            if is_actor(pool) != is_actor(self.env):
                raise ConfigError("a pool and the environment must both be local or both be Ray actors")
            infos = {i.role: i for i in call(pool, "agent_infos")}
            with self._lock:
                for a in members:
                    if a.role not in infos:
                        raise ConfigError(f"pool hosts no role {a.role!r}", role=a.role)
                    other = self._agents.get(a.role)
                    if other is not None and other != a:
                        raise DuplicateRoleError(f"two agents claim role {a.role!r}", role=a.role)
                mine = [infos[a.role] for a in members]
                call(self.registry, "register_agents", {a.role: a for a in members})
                for info in mine:
                    if info.human_input_mode != "CLOSE":
                        call(self.registry, "set_user_agent", info.role)
                for watcher in (False, True):
                    names = [i.role for i in mine if i.is_watcher == watcher]
                    if names:
                        call(self.env, "register_roles", names, watcher)
                call(pool, "set_env", self.env)
                for a, info in zip(members, mine, strict=True):
                    self._agents[a.role] = a
                    if info.is_watcher:
                        self._watchers.add(a.role)
                roles += [a.role for a in members]
        return roles

    def _step_roles(self, roles: list[str], send_to: Any, user_response: Any, kwargs: dict) -> Iterator[str]:
        from task_center.center import _response_for

        # Agents of their own get their mail with the round's start in one Environment call (as in
        # TaskCenter); pools read theirs in batches themselves.
        standalone = [r for r in roles if not isinstance(self._agent(r), PooledAgent)]
        if standalone:
            until, mail = call(self.env, "read_round", standalone)
        else:
            until, mail = call(self.env, "last_seq"), {}
        per_role = {
            r: {
                **kwargs,
                "send_to": send_to,
                "user_response": _response_for(r, user_response),
                "mail_until_seq": until,
                **({"round_mail": mail[r]} if r in mail else {}),
            }
            for r in roles
        }
        streams: list[tuple[Any, str, tuple, dict, bool]] = []
        by_pool: dict[Any, list[tuple[str, dict]]] = {}
        for r in roles:
            agent = self._agent(r)
            if isinstance(agent, PooledAgent):
                by_pool.setdefault(agent.pool, []).append((r, per_role[r]))
            else:
                streams.append((agent, "step", (), per_role[r], False))
        streams += [(pool, "step_many", (items,), {}, True) for pool, items in by_pool.items()]
        yield from _multiplex(streams)

    def close(self) -> None:
        super().close()
        pools = {a.pool for a in self._agents.values() if isinstance(a, PooledAgent)}
        for pool in pools:
            if is_actor(pool):
                import ray

                ray.kill(pool, no_restart=True)


def _multiplex(streams: list[tuple[Any, str, tuple, dict, bool]]) -> Iterator[str]:
    """Items of several generator calls as they arrive; ``batched`` streams yield lists of frames."""
    if streams and all(is_actor(t) for t, *_ in streams):
        import ray

        gens = {getattr(t, m).remote(*a, **kw): batched for t, m, a, kw, batched in streams}
        errors: list[BaseException] = []
        while gens:
            ready, _ = ray.wait(list(gens), num_returns=1, timeout=None)
            gen: Any
            for gen in ready:
                try:
                    ref = next(gen)
                except StopIteration:
                    gens.pop(gen)
                    continue
                try:
                    value = ray.get(ref)
                except Exception as e:  # keep the other streams going, raise at the end
                    cause = getattr(e, "cause", None)
                    errors.append(cause if isinstance(cause, BaseException) else e)
                    gens.pop(gen)
                    continue
                yield from (value if gens[gen] else [value])
        if errors:
            raise errors[0]
        return
    out: queue.Queue[tuple[str, Any]] = queue.Queue()

    def drive(target: Any, method: str, args: tuple, kwargs: dict, batched: bool) -> None:
        try:
            for item in iter_call(target, method, *args, **kwargs):
                for frame in item if batched else [item]:
                    out.put(("item", frame))
        except BaseException as e:
            cause = getattr(e, "cause", None)
            out.put(("error", cause if isinstance(cause, BaseException) else e))
        finally:
            out.put(("done", None))

    threads = [threading.Thread(target=drive, args=s, daemon=True) for s in streams]
    for t in threads:
        t.start()
    running, errs = len(threads), []
    while running:
        kind, value = out.get()
        if kind == "item":
            yield value
        elif kind == "error":
            errs.append(value)
        else:
            running -= 1
    if errs:
        raise errs[0]
