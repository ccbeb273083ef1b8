"""The Task Center: owns an Environment and an Agent Registry, sends tasks, steps agents in rounds.

Public API (locally, or on an actor created with ``create_component(TaskCenter, ..., remote=True)``,
where generator methods are Ray streaming generators: ``for ref in tc.step.remote(): ray.get(ref)``):

- ``TaskCenter(remote=False, prefix_name=None, name='task_center', policy='notified', env=None,
  registry=None, storage_path=None, history_limit=1000, durable=True, instance_id=None,
  resume=False, actor_options=None, restart_timeout_s=60, env_shards=1)``; ``env_shards=N`` splits
  the Environment by role over N shards (``environment/sharded.py``), the API stays the same;
  ``shard_actor_options`` places each shard (one dict per shard)
- ``add_agents(agents)`` (a role whose agent died for good can be given to a new agent),
  ``remove_agent(role)``, ``disable_agent(role)``, ``enable_agent(role)``,
  ``set_user_agent(role, human_input_mode='ON')``, ``unset_user_agent(role)``, ``set_policy(spec)``,
  ``get_env()``, ``get_registry()``, ``get_roles()``, ``get_lost_agents() -> {role: reason}``
- ``send_task_request(task, send_to='all', send_from='user_requirement') -> int`` (sequence number)
- ``step(task=None, round=1, send_to='all', allowed_roles=None, user_response=None, **kwargs)``
  -> ``Iterator[str]`` of ``'<role>: chunk'`` frames, interleaved as the agents stream in parallel;
  ``allowed_roles`` is a role or a list of roles; a ``send_to`` naming an unknown or disabled role is
  refused before any agent runs
- ``run(task=None, max_rounds=10, max_turns=None, max_seconds=None, send_to='all', **kwargs)``
  -> frames; stops at max rounds, when nobody is chosen (idle) or at the budget;
  ``get_last_stop_reason()`` says which, and names agents disabled on the way.
- ``reset_env()``, ``close()`` (kills the env/registry actors it created).

``user_response`` is a string for every human-driven role in the step, or ``{role: text}``. Human
roles chosen by a policy without a response are skipped and listed by ``waiting_for_human()``.

Crashes: an agent whose actor dies mid-step is stepped again once when Ray has restarted it (its
frames show a retry notice); one that does not come back within ``restart_timeout_s`` (or is dead
for good) is disabled, with the reason in ``get_last_stop_reason()``/``get_lost_agents()``, and the
round goes on. With an ``instance_id`` (a named actor gets its actor name) the center keeps its
round book and agents on disk: a restarted center, or ``resume=True``, reopens its Environment and
Registry (which come back from their own logs) and finishes a round a crash interrupted.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Generator, Iterator, Sequence
from types import MappingProxyType
from typing import Any

from environment.env import Environment, derived_id
from environment.routing import normalize_send_to
from environment.sharded import ShardedEnvironment, shard_name
from msagent.errors import (
    AgentDisabledError,
    AgentLostError,
    ConfigError,
    DuplicateRoleError,
    InvalidContentError,
    UnknownRoleError,
)
from msagent.runtime.calls import Pending, alive, call, call_async, call_many, is_actor, is_remote
from msagent.runtime.component import create_component, kill_component
from msagent.runtime.fanout import DEFAULT_RESTART_TIMEOUT_S, Stream, iter_step, multiplex
from msagent.runtime.ids import ComponentId
from msagent.runtime.state import StateStore
from msagent.schemas import DEFAULT_SEND_TO, USER_REQUIREMENT, Message, SendTo
from registry.registry import AgentRegistry
from task_center.policies import SpeakerPolicy, get_policy
from task_center.rounds import RoundBook, RoundRecord

ENV_NAME = "env"
REGISTRY_NAME = "agent_center"
log = logging.getLogger(__name__)


class TaskCenter:
    actor_defaults = MappingProxyType({"max_concurrency": 16, "max_restarts": -1})
    env_class: type = Environment

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
        instance_id: str | None = None,
        resume: bool = False,
        restarted: bool = False,
        actor_options: dict[str, Any] | None = None,
        restart_timeout_s: float = DEFAULT_RESTART_TIMEOUT_S,
        env_shards: int = 1,
        shard_actor_options: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        self.remote = bool(remote)
        self.instance_id = instance_id
        resume = bool(resume or restarted)
        if resume and not (instance_id and durable):
            if restarted:  # a restarted actor without durable state starts over
                log.warning("task center %s restarted without durable state: it starts empty", instance_id)
                resume = False
            else:
                raise ConfigError("resume=True needs the instance_id of a durable Task Center", field="resume")
        # Remote components are named actors: without a prefix two centers would share 'env'.
        self.prefix_name = prefix_name or (_prefix_for(instance_id) if remote else None)
        self._lock = threading.RLock()
        self._store = StateStore.open("task_center", instance_id if durable else None)
        if not resume:
            self._store.clear()
        self._rounds = RoundBook(self._store, instance_id or uuid.uuid4().hex)
        self._restart_timeout = float(restart_timeout_s)
        self._actor_options = actor_options
        self._owned: list[str] = []
        if env is None:
            env = self._child(
                self.env_class, ENV_NAME, resume, storage_path=storage_path, history_limit=history_limit,
                durable=durable, instance_id=f"{instance_id}.{ENV_NAME}" if instance_id else None,
                env_shards=_shards(env_shards), shard_actor_options=shard_actor_options,
            )  # fmt: skip
        self._own_registry = registry is None
        if registry is None:
            registry = self._child(
                AgentRegistry, REGISTRY_NAME, resume, durable=durable,
                instance_id=f"{instance_id}.{REGISTRY_NAME}" if instance_id else None,
            )  # fmt: skip
        self.env = env
        self.registry = registry
        self._env_name = self._name_of_env()
        self._agents: dict[str, Any] = {}
        self._watchers: set[str] = set()
        self._policy: SpeakerPolicy = get_policy(policy)
        self._waiting: list[str] = []
        self._stop_reason = ""
        self._lost_now: list[str] = []
        # reads started together while a policy chooses speakers (see _choose); per thread, as an
        # actor TaskCenter may serve several callers at once
        self._prefetched = threading.local()
        if restarted:
            self._restore_agents()

    @classmethod
    def discard_state(cls, instance_id: str | None = None, **_: Any) -> None:
        StateStore.discard("task_center", instance_id)

    def _child(self, cls: type, name: str, resume: bool, **kwargs: Any) -> Any:
        if not self.remote and kwargs.get("instance_id") is None:
            kwargs.pop("instance_id")
        handle = create_component(
            cls, name, remote=self.remote, prefix_name=self.prefix_name, force_new=not resume,
            actor_options=self._actor_options, **kwargs,
        )  # fmt: skip
        if isinstance(handle, ShardedEnvironment):  # its shards are the actors this center owns
            self._owned += [ComponentId(shard_name(name, i), self.prefix_name).actor_name for i in range(handle.n)]
        else:
            self._owned.append(ComponentId(name, self.prefix_name).actor_name)
        return handle

    def _name_of_env(self) -> str | None:
        if not is_remote(self.env):
            return None
        try:
            return str(call(self.env, "info")["component"])
        except Exception:  # an environment of another kind: agents cannot look it up by name
            return None

    def _restore_agents(self) -> None:
        """A restarted center: its agents (actor handles) and watchers from disk, handed the env again."""
        agents = {r: a for r, a in dict(self._store.get("agents", {})).items() if a is not None}
        self._watchers = set(self._store.get("watchers", []))
        self._agents.update(agents)
        self._hand_env(agents)

    def _hand_env(self, agents: dict[str, Any]) -> None:
        """Give restored agents the environment again (the one this center has now)."""
        for role, agent in agents.items():
            try:
                call(agent, "set_env", self.env, self._env_name)
            except Exception as e:  # noqa: BLE001  a dead agent is found out at its next step
                log.warning("task center: could not hand the environment to %r again: %s", role, e)

    def _save_agents(self) -> None:
        if self._store.durable:
            portable = {r: a for r, a in self._agents.items() if is_actor(a) or getattr(a, "portable_ref", False)}
            self._store.put("agents", portable)
            self._store.put("watchers", sorted(self._watchers))

    # --- agents -----------------------------------------------------------------------------------
    def add_agents(self, agents: Sequence[Any]) -> list[str]:
        """Register agents (objects or actor handles) and hand them the environment; returns roles.
        A role already held by an agent that died for good is given to the new agent (its mail stays)."""
        agents = list(agents)
        env_remote = is_remote(self.env)
        for agent in agents:
            if is_actor(agent) != env_remote:
                raise ConfigError(
                    "agents and the environment must both be local or both be Ray actors: "
                    "create them with the same remote= flag as the TaskCenter"
                )
        infos = call_many(agents, "agent_info")
        with self._lock:
            replaced = self._check_roles([(a, i.role) for a, i in zip(agents, infos, strict=True)])
            call(
                self.registry, "register_agents", {i.role: a for a, i in zip(agents, infos, strict=True)},
                humans=[i.role for i in infos if i.human_input_mode == "ON"], replace=True,
            )  # fmt: skip
            for watcher in (False, True):
                roles = [i.role for i in infos if i.is_watcher == watcher]
                if roles:
                    call(self.env, "register_roles", roles, watcher)
            call_many(agents, "set_env", self.env, self._env_name)
            for agent, info in zip(agents, infos, strict=True):
                self._agents[info.role] = agent
                if info.is_watcher:
                    self._watchers.add(info.role)
            self._revive(replaced)
            self._save_agents()
            return [i.role for i in infos]

    def _check_roles(self, pairs: Sequence[tuple[Any, str]]) -> list[str]:
        """Refuse a role held by a live other agent; return roles taken over from dead ones."""
        seen: dict[str, Any] = {}
        replaced: list[str] = []
        for agent, role in pairs:
            if role in seen and not _same(seen[role], agent):
                raise DuplicateRoleError(f"two agents claim role {role!r}", role=role)
            seen[role] = agent
            other = self._agents.get(role)
            if other is None or _same(other, agent):
                continue
            if role in self._rounds.lost or (is_actor(other) and not alive(other, timeout_s=5)):
                replaced.append(role)
                continue
            raise DuplicateRoleError(
                f"role {role!r} is taken by another agent that is alive; remove_agent({role!r}) first", role=role
            )
        return replaced

    def _revive(self, roles: Sequence[str]) -> None:
        for role in roles:
            if role in self._rounds.lost:
                self._rounds.set_lost(role, None)
                call(self.registry, "enable_agent", role)
                call(self.env, "set_role_enabled", role, True)

    def remove_agent(self, role: str) -> None:
        """Forget ``role``: its agent leaves the registry, its mailbox (and unread mail) the
        Environment. The agent itself is not killed; a new agent may take the role later."""
        with self._lock:
            self._agent(role)
            call(self.registry, "unregister_agent", role)
            call(self.env, "unregister_role", role)
            self._agents.pop(role, None)
            self._watchers.discard(role)
            self._rounds.set_lost(role, None)
            self._save_agents()

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

    def _lose(self, role: str, reason: str) -> None:
        """An agent that died and did not come back: disabled with a reason; the round goes on."""
        log.warning("task center: agent %r disabled: %s", role, reason)
        with self._lock:
            self._rounds.set_lost(role, reason)
            self._lost_now.append(role)
        for target, method, args in (
            (self.registry, "disable_agent", (role,)),
            (self.env, "set_role_enabled", (role, False)),
        ):
            try:
                call(target, method, *args)
            except Exception as e:  # noqa: BLE001  the reason is kept either way
                log.warning("task center: disabling %r in %s failed: %s", role, method, e)

    def get_lost_agents(self) -> dict[str, str]:
        """Agents disabled because they died and did not come back, with the reason."""
        return dict(self._rounds.lost)

    def set_user_agent(self, role: str, human_input_mode: str = "ON") -> None:
        """A person now speaks for ``role``: its steps publish ``user_response`` (mode ON)."""
        self._agent(role)
        call(self.registry, "set_user_agent", role, human_input_mode)

    def unset_user_agent(self, role: str) -> None:
        self._agent(role)
        call(self.registry, "unset_user_agent", role)

    def set_policy(self, spec: Any) -> None:
        self._policy = get_policy(spec)

    def get_env(self) -> Any:
        return self.env

    def get_registry(self) -> Any:
        return self.registry

    def get_roles(self) -> list[str]:
        return list(self._agents)

    def get_rounds_done(self) -> int:
        """Rounds finished by this center (over its restarts and resumes, with an instance_id)."""
        return self._rounds.done

    def waiting_for_human(self) -> list[str]:
        return list(self._waiting)

    def get_last_stop_reason(self) -> str:
        lost = [f"{r} disabled: {self._rounds.lost[r]}" for r in self._lost_now if r in self._rounds.lost]
        return "; ".join([p for p in [self._stop_reason, *lost] if p])

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

    def last_speakers(self) -> list[str]:
        """The roles of the previous round, in the order they were chosen."""
        return list(self._rounds.last_roles)

    def last_message(self) -> Message | None:
        last = call(self.env, "extract_all_history_message", 1)
        return last[0] if last else None

    def ask_agent(self, role: str, **kwargs: Any) -> str:
        """Step one agent to completion and return its reply text (used for directors)."""
        self._prefetched.calls = {}  # the step changes mail: later reads must be fresh
        prefix = f"{role}: "
        try:
            frames = list(iter_step(self._agent(role), role, self._restart_timeout, **kwargs))
        except AgentLostError as e:
            self._lose(role, str(e.details.get("reason") or e))
            return ""
        return "".join(f[len(prefix) :] if f.startswith(prefix) else f for f in frames)

    # --- tasks and rounds -------------------------------------------------------------------------
    def send_task_request(self, task: str, send_to: SendTo = DEFAULT_SEND_TO, send_from: str = USER_REQUIREMENT) -> int:
        if isinstance(task, (bytes, bytearray, memoryview)):
            raise InvalidContentError(f"a task must be text (str), not {type(task).__name__}: decode it first")
        msg = Message(role=send_from, content=str(task), sent_from=send_from, send_to=normalize_send_to(send_to))
        return int(call(self.env, "store_message_from_role", send_from, msg))

    def reset_env(self) -> None:
        call(self.env, "reset")

    def step(
        self,
        task: str | None = None,
        round: int = 1,  # noqa: A002  (the seed's name)
        send_to: SendTo = DEFAULT_SEND_TO,
        allowed_roles: str | Sequence[str] | None = None,
        user_response: str | dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Iterator[str]:
        send_to = self._checked_send_to(send_to)
        self._lost_now = []
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
        """Rounds until ``max_rounds``, until nobody is chosen, or until the budget (turns/seconds).
        A round a crash interrupted (see ``resume``) is finished first and counts as one of them."""
        send_to = self._checked_send_to(send_to)
        self._lost_now = []
        if task is not None:
            self.send_task_request(task, send_to=send_to)
        started, turns, rounds = time.monotonic(), 0, max(0, int(max_rounds))
        self._stop_reason = "max_rounds"
        if self._rounds.open is not None and rounds:
            turns += yield from self._finish_open_round()
            rounds -= 1
        for _ in range(rounds):
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

    def _choose(self, allowed_roles: str | Sequence[str] | None, user_response: Any) -> list[str]:
        if allowed_roles is not None:
            # the seed passes one role as a string: it is that role, not its characters
            roles = [allowed_roles] if isinstance(allowed_roles, str) else [str(r) for r in allowed_roles]
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
        # A round sees the mail that existed when it began. It is read here for every agent in one
        # Environment call (the one add_agents gave them), instead of one call per agent that
        # the agents' start would queue up behind.
        until, mail = self._read_round(roles)
        record = self._rounds.begin(roles, until, send_to, kwargs)
        try:
            yield from self._run_round(record, roles, mail, user_response)
        finally:
            self._rounds.end(record)

    def _finish_open_round(self) -> Generator[str, None, int]:
        """The round a crash interrupted, for the roles whose replies are not in the log; returns
        how many stepped."""
        record = self._rounds.open
        assert record is not None
        ids = {r: derived_id(sid) for r, sid in record.step_ids.items()}
        published = {d.message.id for d in call(self.env, "find_messages", list(ids.values()))}
        roles = [
            r for r in record.roles
            if ids[r] not in published and r in self._agents and r not in self._rounds.lost
        ]  # fmt: skip
        try:
            if roles:
                _, mail = self._read_round(roles, record.until)
                yield from self._run_round(record, roles, mail, None)
        finally:
            self._rounds.end(record)
        return len(roles)

    def _read_round(self, roles: list[str], until: Any = None) -> tuple[Any, dict[str, Any]]:
        # the boundary is the Environment's to define (a sharded one may answer with a vector):
        # it is only handed back, to the agents and to read_round when a round is finished later
        until_seq, mail = call(self.env, "read_round", roles, until)
        return until_seq, mail

    def _run_round(
        self, record: RoundRecord, roles: list[str], mail: dict[str, Any], user_response: Any
    ) -> Iterator[str]:
        per_role = {
            r: {
                **record.kwargs,
                "send_to": record.send_to,
                "user_response": _response_for(r, user_response),
                "mail_until_seq": record.until,
                "step_id": record.step_ids[r],
                **({"round_mail": mail[r]} if r in mail else {}),
            }
            for r in roles
        }
        yield from multiplex(self._round_streams(roles, per_role), self._restart_timeout, self._on_lost)

    def _round_streams(self, roles: list[str], per_role: dict[str, dict[str, Any]]) -> list[Stream]:
        return [Stream(self._agent(r), "step", per_role[r], roles=(r,)) for r in roles]

    def _on_lost(self, stream: Stream, reason: str) -> None:
        for role in stream.roles:
            self._lose(role, reason)

    def close(self) -> None:
        """Kill the env and registry actors this center created (locally: close their files).
        The state on disk stays: a center with an instance_id can be resumed later."""
        if self.remote:
            for name in self._owned:
                kill_component(name)
        else:
            if isinstance(self.env, (Environment, ShardedEnvironment)):
                self.env.close()
            if self._own_registry and isinstance(self.registry, AgentRegistry):
                self.registry.close()
        self._store.close()


def _prefix_for(instance_id: str | None) -> str:
    """A prefix for a remote center's components: stable for a stable instance id."""
    if instance_id:
        return f"tc{hashlib.sha1(instance_id.encode()).hexdigest()[:10]}"
    return f"tc{uuid.uuid4().hex[:10]}"


def _shards(value: Any) -> int:
    try:
        shards = int(value)
    except (TypeError, ValueError):
        shards = 0
    if shards < 1 or isinstance(value, bool):
        raise ConfigError(f"env_shards must be a whole number >= 1, not {value!r}", field="env_shards")
    return shards


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False


def _response_for(role: str, user_response: Any) -> str | None:
    if isinstance(user_response, dict):
        value = user_response.get(role)
        return None if value is None else str(value)
    return None if user_response is None else str(user_response)
