"""The Agent Registry: which agents exist (by role), whether they are enabled, which are human-driven.

Public API (locally, or ``ray.get(registry.<method>.remote(...))`` on an actor):
``register_agent(role, agent, human=False, replace=False)``, ``register_agents({role: agent})``,
``unregister_agent(role)``, ``get_agent(role)``, ``get_agents_by_role(roles) -> list``, ``has_role(role)``,
``get_roles()``, ``enable_agent(role)``, ``disable_agent(role)``, ``is_enabled(role)``,
``get_available_roles()`` (enabled), ``set_user_agent(role, human_input_mode='ON')``,
``unset_user_agent(role)``, ``is_user_agent(role)``, ``get_user_agents()``.

ModelScope-Agent's names work too: ``register_agent(agent, env_context=None)`` and
``register_agents([agent, ...], env_context=None)`` read the role from the agent (and hand it
``env_context`` as its environment), ``get_agent_by_role``, ``get_all_role``,
``get_available_role_name``, ``get_user_agents_role_name``.

State: with an ``instance_id`` (a named actor gets its actor name) and ``durable`` (the default)
the entries are kept on disk and
a restarted registry comes back with them; agents that are Ray actors (or pool references) come
back as handles, local objects as ``None`` until registered again.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from msagent.errors import DuplicateRoleError, UnknownRoleError
from msagent.runtime.calls import call, call_many, is_actor
from msagent.runtime.ids import Role
from msagent.runtime.ids import human_input_mode as human_input_mode_of
from msagent.runtime.state import StateStore


@dataclass(frozen=True)
class AgentEntry:
    role: str
    agent: Any
    enabled: bool = True
    human: bool = False


class AgentRegistry:
    actor_defaults = MappingProxyType({"max_concurrency": 1, "max_restarts": -1})

    def __init__(
        self, name: str = "agent_center", instance_id: str | None = None, remote: bool = False, durable: bool = True
    ) -> None:
        self.name = name
        self.remote = remote
        self._lock = threading.RLock()
        self._store = StateStore.open("registry", instance_id if durable else None)
        self._entries: dict[str, AgentEntry] = {}
        for _, entry in self._store.items("agent/"):
            if isinstance(entry, AgentEntry):
                self._entries[entry.role] = entry

    @classmethod
    def discard_state(cls, instance_id: str | None = None, **_: Any) -> None:
        StateStore.discard("registry", instance_id)

    def _save(self, entry: AgentEntry) -> None:
        self._save_many([entry])

    def _save_many(self, entries: list[AgentEntry]) -> None:
        """Entries in memory and on disk, in one commit (a pool registers thousands at once)."""
        for entry in entries:
            self._entries[entry.role] = entry
        if not self._store.durable:
            return
        rows = []
        for entry in entries:
            portable = is_actor(entry.agent) or getattr(entry.agent, "portable_ref", False)
            rows.append((f"agent/{entry.role}", entry if portable else replace(entry, agent=None)))
        try:
            self._store.put_many(rows)
        except (pickle.PicklingError, TypeError, AttributeError):
            self._store.put_many([(key, replace(entry, agent=None)) for key, entry in rows])

    def _checked_entry(self, role: str, agent: Any, human: bool, replace: bool) -> AgentEntry:
        role = Role(role).name
        old = self._entries.get(role)
        if not replace and old is not None and old.agent is not None and not _same(old.agent, agent):
            raise DuplicateRoleError(f"role {role!r} is already taken by another agent", role=role)
        return AgentEntry(role, agent, True if old is None else old.enabled, human)

    # --- registering ------------------------------------------------------------------------------
    def register_agent(
        self, role: Any, agent: Any = None, human: bool = False, replace: bool = False, env_context: Any = None
    ) -> None:
        """``register_agent(role, agent)``; or the seed's ``register_agent(agent, env_context=None)``."""
        if not isinstance(role, str):
            self.register_agents([role], env_context=agent if env_context is None else env_context)
            return
        with self._lock:
            self._save(self._checked_entry(role, agent, human, replace))

    def register_agents(
        self,
        agents: Mapping[str, Any] | Iterable[Any],
        env_context: Any = None,
        humans: Iterable[str] = (),
        replace: bool = False,
    ) -> None:
        """``{role: agent}`` (``humans``: the roles a person speaks for), or the seed's list of
        agents (roles and human modes read from the agents)."""
        if isinstance(agents, Mapping):
            people = set(humans)
            with self._lock:
                entries = [
                    self._checked_entry(str(role), agent, str(role) in people, replace) for role, agent in agents.items()
                ]
                self._save_many(entries)
            return
        items = list(agents)
        if env_context is not None:
            call_many(items, "set_env", env_context)
        infos = call_many(items, "agent_info")
        with self._lock:
            for agent, info in zip(items, infos, strict=True):
                self.register_agent(info.role, agent, human=info.human_input_mode == "ON")

    def unregister_agent(self, role: str) -> None:
        with self._lock:
            self._entry(role)
            del self._entries[role]
            self._store.delete(f"agent/{role}")

    def _entry(self, role: str) -> AgentEntry:
        entry = self._entries.get(str(role))
        if entry is None:
            raise UnknownRoleError(
                f"no agent with role {role!r} in registry {self.name!r}; known: {sorted(self._entries) or 'none'}",
                role=role,
            )
        return entry

    def _update(self, role: str, **changes: Any) -> None:
        with self._lock:
            self._save(replace(self._entry(role), **changes))

    # --- reading ----------------------------------------------------------------------------------
    def has_role(self, role: str) -> bool:
        return str(role) in self._entries

    def get_agent(self, role: str) -> Any:
        return self._entry(role).agent

    get_agent_by_role = get_agent

    def get_agents_by_role(self, roles: str | Iterable[str]) -> list[Any]:
        names = [roles] if isinstance(roles, str) else list(roles)
        with self._lock:
            return [self._entry(r).agent for r in names]

    def get_roles(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    get_all_role = get_roles

    def enable_agent(self, role: str) -> None:
        self._update(role, enabled=True)

    def disable_agent(self, role: str) -> None:
        self._update(role, enabled=False)

    def is_enabled(self, role: str) -> bool:
        return self._entry(role).enabled

    def get_available_roles(self) -> list[str]:
        with self._lock:
            return [r for r, e in self._entries.items() if e.enabled]

    get_available_role_name = get_available_roles

    # --- people -----------------------------------------------------------------------------------
    def set_user_agent(self, role: str, human_input_mode: str = "ON") -> None:
        """A person speaks for ``role`` (``ON``: their answer is published as is; ``TERMINAL``: read
        from the terminal, the model when empty); ``CLOSE`` gives the role back to its model."""
        mode = human_input_mode_of(human_input_mode)
        entry = self._entry(role)
        if is_actor(entry.agent) or hasattr(entry.agent, "set_human_input_mode"):
            call(entry.agent, "set_human_input_mode", mode)
        self._update(role, human=mode == "ON")

    def unset_user_agent(self, role: str) -> None:
        self.set_user_agent(role, "CLOSE")

    def is_user_agent(self, role: str) -> bool:
        return self._entry(role).human

    def get_user_agents(self) -> list[str]:
        with self._lock:
            return [r for r, e in self._entries.items() if e.human]

    get_user_agents_role_name = get_user_agents

    def close(self) -> None:
        self._store.close()


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False
