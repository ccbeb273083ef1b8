"""The Task Center: owns an Environment and an Agent Registry, sends tasks, steps agents in rounds.

Public API (locally, or on an actor created with ``create_component(TaskCenter, ..., remote=True)``,
where generator methods are Ray streaming generators: ``for ref in tc.step.remote(): ray.get(ref)``):

- ``TaskCenter(remote=False, prefix_name=None, name='task_center', policy='notified', env=None,
  registry=None, storage_path=None, history_limit=1000, durable=True)``
- ``add_agents(agents)``, ``disable_agent(role)``, ``enable_agent(role)``, ``set_user_agent(role)``,
  ``unset_user_agent(role)``, ``set_policy(spec)``, ``get_env()``, ``get_registry()``, ``get_roles()``
- ``send_task_request(task, send_to='all', send_from='user_requirement') -> int`` (sequence number)
- ``step(task=None, round=1, send_to='all', allowed_roles=None, user_response=None, **kwargs)``
  -> ``Iterator[str]`` of ``'<role>: chunk'`` frames, interleaved as the agents stream in parallel;
  a ``send_to`` naming an unknown or disabled role is refused before any agent runs
- ``run(task=None, max_rounds=10, max_turns=None, max_seconds=None, send_to='all', **kwargs)``
  -> frames; stops at max rounds, when nobody is chosen (idle) or at the budget;
  ``get_last_stop_reason()`` says which.
- ``reset_env()``, ``close()`` (kills the env/registry actors it created).

``user_response`` is a string for every human-driven role in the step, or ``{role: text}``. Human
roles chosen by a policy without a response are skipped and listed by ``waiting_for_human()``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from types import MappingProxyType
from typing import Any

from environment.env import Environment
from environment.routing import normalize_send_to
from msagent.errors import AgentDisabledError, ConfigError, DuplicateRoleError, UnknownRoleError
from msagent.runtime.calls import Pending, call, call_async, call_many, is_actor, iter_call
from msagent.runtime.component import create_component, kill_component
from msagent.runtime.fanout import fan_out
from msagent.runtime.ids import ComponentId
from msagent.schemas import DEFAULT_SEND_TO, USER_REQUIREMENT, Message, SendTo
from registry.registry import AgentRegistry
from task_center.policies import SpeakerPolicy, get_policy

ENV_NAME = "env"
REGISTRY_NAME = "agent_center"


class TaskCenter:
    actor_defaults = MappingProxyType({"max_concurrency": 16})

    def __init__(
        self,
        remote: bool = False,
        prefix_name: str | None = None,
        name: str = "task_center",
        policy: Any = "notified",
        env: Any = None,
        registry: Any = None,
        storage_path: str | None = None,
        history_limit: int = 1000,
        durable: bool = True,
    ) -> None:
        self.remote = bool(remote)
        # Remote components are named actors: without a prefix two centers would share 'env'.
        self.prefix_name = prefix_name or (f"tc{uuid.uuid4().hex[:10]}" if remote else None)
        self._lock = threading.RLock()
        self._owned: list[str] = []
        if env is None:
            env = create_component(
                Environment, ENV_NAME, remote=self.remote, prefix_name=self.prefix_name, force_new=True,
                instance_id=uuid.uuid4().hex, storage_path=storage_path, history_limit=history_limit,
                durable=durable,
            )  # fmt: skip
            self._owned.append(ComponentId(ENV_NAME, self.prefix_name).actor_name)
        if registry is None:
            registry = create_component(
                AgentRegistry, REGISTRY_NAME, remote=self.remote, prefix_name=self.prefix_name, force_new=True
            )
            self._owned.append(ComponentId(REGISTRY_NAME, self.prefix_name).actor_name)
        self.env = env
        self.registry = registry
        self._agents: dict[str, Any] = {}
        self._watchers: set[str] = set()
        self._policy: SpeakerPolicy = get_policy(policy)
        self._waiting: list[str] = []
        self._stop_reason = ""
        # reads started together while a policy chooses speakers (see _choose); per thread, as an
        # actor TaskCenter may serve several callers at once
        self._prefetched = threading.local()

    # --- agents -----------------------------------------------------------------------------------
    def add_agents(self, agents: Sequence[Any]) -> list[str]:
        """Register agents (objects or actor handles) and hand them the environment; returns roles."""
        agents = list(agents)
        env_remote = is_actor(self.env)
        for agent in agents:
            if is_actor(agent) != env_remote:
                raise ConfigError(
                    "agents and the environment must both be local or both be Ray actors: "
                    "create them with the same remote= flag as the TaskCenter"
                )
        infos = call_many(agents, "agent_info")
        with self._lock:
            seen: dict[str, Any] = {}
            for agent, info in zip(agents, infos, strict=False):
                other = self._agents.get(info.role, seen.get(info.role))
                if other is not None and other is not agent and other != agent:
                    raise DuplicateRoleError(f"two agents claim role {info.role!r}", role=info.role)
                seen[info.role] = agent
            for agent, info in zip(agents, infos, strict=False):
                call(self.registry, "register_agent", info.role, agent, info.human_input_mode == "ON")
            for watcher in (False, True):
                roles = [i.role for i in infos if i.is_watcher == watcher]
                if roles:
                    call(self.env, "register_roles", roles, watcher)
            call_many(agents, "set_env", self.env)
            for agent, info in zip(agents, infos, strict=False):
                self._agents[info.role] = agent
                if info.is_watcher:
                    self._watchers.add(info.role)
            return [i.role for i in infos]

    def _agent(self, role: str) -> Any:
        agent = self._agents.get(str(role))
        if agent is None:
            raise UnknownRoleError(
                f"no agent with role {role!r}; added: {sorted(self._agents) or 'none'}", role=role
            )
        return agent

    def disable_agent(self, role: str) -> None:
        self._agent(role)
        call(self.registry, "disable_agent", role)
        call(self.env, "set_role_enabled", role, False)

    def enable_agent(self, role: str) -> None:
        self._agent(role)
        call(self.registry, "enable_agent", role)
        call(self.env, "set_role_enabled", role, True)

    def set_user_agent(self, role: str) -> None:
        """A person now speaks for ``role``: its steps publish ``user_response`` (mode ON)."""
        call(self._agent(role), "set_human_input_mode", "ON")
        call(self.registry, "set_user_agent", role)

    def unset_user_agent(self, role: str) -> None:
        call(self._agent(role), "set_human_input_mode", "CLOSE")
        call(self.registry, "unset_user_agent", role)

    def set_policy(self, spec: Any) -> None:
        self._policy = get_policy(spec)

    def get_env(self) -> Any:
        return self.env

    def get_registry(self) -> Any:
        return self.registry

    def get_roles(self) -> list[str]:
        return list(self._agents)

    def waiting_for_human(self) -> list[str]:
        return list(self._waiting)

    def get_last_stop_reason(self) -> str:
        return self._stop_reason

    # --- what policies see ------------------------------------------------------------------------
    def speaker_candidates(self) -> list[str]:
        enabled = set(self._read(self.registry, "get_available_roles"))
        return [r for r in self._agents if r in enabled and r not in self._watchers]

    def notified_roles(self) -> list[str]:
        return list(self._read(self.env, "get_notified_roles"))

    def _read(self, target: Any, method: str) -> Any:
        """``call(target, method)``, or the answer of the same read started when choosing began."""
        started: dict[str, Pending] = getattr(self._prefetched, "calls", {})
        pending = started.pop(method, None)
        return pending.result() if pending is not None else call(target, method)

    def last_message(self) -> Message | None:
        last = call(self.env, "extract_all_history_message", 1)
        return last[0] if last else None

    def ask_agent(self, role: str, **kwargs: Any) -> str:
        """Step one agent to completion and return its reply text (used for directors)."""
        self._prefetched.calls = {}  # the step changes mail: later reads must be fresh
        prefix = f"{role}: "
        frames = iter_call(self._agent(role), "step", **kwargs)
        return "".join(f[len(prefix) :] if f.startswith(prefix) else f for f in frames)

    # --- tasks and rounds -------------------------------------------------------------------------
    def send_task_request(self, task: str, send_to: SendTo = DEFAULT_SEND_TO, send_from: str = USER_REQUIREMENT) -> int:
        msg = Message(role=send_from, content=str(task), sent_from=send_from, send_to=normalize_send_to(send_to))
        return int(call(self.env, "store_message_from_role", send_from, msg))

    def reset_env(self) -> None:
        call(self.env, "reset")

    def step(
        self,
        task: str | None = None,
        round: int = 1,  # noqa: A002  (the seed's name)
        send_to: SendTo = DEFAULT_SEND_TO,
        allowed_roles: Sequence[str] | None = None,
        user_response: str | dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Iterator[str]:
        send_to = self._checked_send_to(send_to)
        if task is not None:
            self.send_task_request(task, send_to=send_to)
        for _ in range(max(1, int(round))):
            roles = self._choose(allowed_roles, user_response)
            if not roles:
                self._stop_reason = "idle"
                return
            yield from self._step_roles(roles, send_to, user_response, kwargs)

    def run(
        self,
        task: str | None = None,
        max_rounds: int = 10,
        max_turns: int | None = None,
        max_seconds: float | None = None,
        send_to: SendTo = DEFAULT_SEND_TO,
        **kwargs: Any,
    ) -> Iterator[str]:
        """Rounds until ``max_rounds``, until nobody is chosen, or until the budget (turns/seconds)."""
        send_to = self._checked_send_to(send_to)
        if task is not None:
            self.send_task_request(task, send_to=send_to)
        started, turns = time.monotonic(), 0
        self._stop_reason = "max_rounds"
        for _ in range(max(0, int(max_rounds))):
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                self._stop_reason = "budget"
                return
            roles = self._choose(None, None)
            if not roles:
                self._stop_reason = "idle"
                return
            if max_turns is not None:
                roles = roles[: max(0, max_turns - turns)]
                if not roles:
                    self._stop_reason = "budget"
                    return
            turns += len(roles)
            yield from self._step_roles(roles, send_to, None, kwargs)
        if max_turns is not None and turns >= max_turns:
            self._stop_reason = "budget"

    def _checked_send_to(self, send_to: Any) -> SendTo:
        """Refuse an unknown or disabled recipient before any agent runs its model: the reply
        could not be published, so the model call would be wasted."""
        send_to = normalize_send_to(send_to)
        if send_to != DEFAULT_SEND_TO:
            call(self.env, "check_recipients", send_to)
        return send_to

    def _choose(self, allowed_roles: Sequence[str] | None, user_response: Any) -> list[str]:
        if allowed_roles is not None:
            roles = [str(r) for r in allowed_roles]
            enabled = set(call(self.registry, "get_available_roles"))
            for role in roles:
                self._agent(role)
                if role not in enabled:
                    raise AgentDisabledError(f"role {role!r} is disabled; enable it before stepping it", role=role)
            return list(dict.fromkeys(roles))
        # A policy reads who may speak (registry), who has mail (env) and then who is human
        # (registry): one round trip each. Send the three reads at once, at the round's start;
        # each answer is used once (ask_agent drops them, as stepping an agent changes the mail).
        self._prefetched.calls = {
            "get_available_roles": call_async(self.registry, "get_available_roles"),
            "get_notified_roles": call_async(self.env, "get_notified_roles"),
            "get_user_agents": call_async(self.registry, "get_user_agents"),
        }
        try:
            roles = self._policy.next_speakers(self)
            humans = set(self._read(self.registry, "get_user_agents"))
        finally:
            self._prefetched.calls = {}
        self._waiting = [r for r in roles if r in humans and _response_for(r, user_response) is None]
        return [r for r in roles if r not in self._waiting]

    def _step_roles(self, roles: list[str], send_to: SendTo, user_response: Any, kwargs: dict) -> Iterator[str]:
        agents = [self._agent(r) for r in roles]
        # A round sees the mail that existed when it began. It is read here for every agent in one
        # Environment call (the one add_agents gave them), instead of one call per agent that
        # the agents' start would queue up behind.
        until, mail = call(self.env, "read_round", roles)
        kwargs_list = [
            {
                **kwargs,
                "send_to": send_to,
                "user_response": _response_for(r, user_response),
                "mail_until_seq": until,
                **({"round_mail": mail[r]} if r in mail else {}),
            }
            for r in roles
        ]
        yield from fan_out(agents, "step", kwargs_list)

    def close(self) -> None:
        """Kill the env and registry actors this center created (no-op locally)."""
        if self.remote:
            for name in self._owned:
                kill_component(name)
        elif isinstance(self.env, Environment):
            self.env.close()


def _response_for(role: str, user_response: Any) -> str | None:
    if isinstance(user_response, dict):
        value = user_response.get(role)
        return None if value is None else str(value)
    return None if user_response is None else str(user_response)
