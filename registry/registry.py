"""The Agent Registry: which agents exist (by role), whether they are enabled, which are human-driven.

Public API (locally, or ``ray.get(registry.<method>.remote(...))`` on an actor):
``register_agent(role, agent, human=False)``, ``register_agents({role: agent})``, ``unregister_agent(role)``,
``get_agent(role)``, ``get_agents_by_role(roles) -> list``, ``has_role(role)``, ``get_roles()``,
``enable_agent(role)``, ``disable_agent(role)``, ``is_enabled(role)``, ``get_available_roles()`` (enabled),
``set_user_agent(role)``, ``unset_user_agent(role)``, ``is_user_agent(role)``, ``get_user_agents()``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from msagent.errors import DuplicateRoleError, UnknownRoleError
from msagent.runtime.ids import Role


@dataclass(frozen=True)
class AgentEntry:
    role: str
    agent: Any
    enabled: bool = True
    human: bool = False


class AgentRegistry:
    def __init__(self, name: str = "agent_center") -> None:
        self.name = name
        self._lock = threading.RLock()
        self._entries: dict[str, AgentEntry] = {}

    def register_agent(self, role: str, agent: Any, human: bool = False) -> None:
        role = Role(str(role)).name
        with self._lock:
            old = self._entries.get(role)
            if old is not None and old.agent is not agent and old.agent != agent:
                raise DuplicateRoleError(f"role {role!r} is already taken by another agent", role=role)
            self._entries[role] = AgentEntry(role, agent, True if old is None else old.enabled, human)

    def register_agents(self, agents: Mapping[str, Any]) -> None:
        with self._lock:
            for role, agent in agents.items():
                self.register_agent(role, agent)

    def unregister_agent(self, role: str) -> None:
        with self._lock:
            self._entry(role)
            del self._entries[role]

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
            self._entries[role] = replace(self._entry(role), **changes)

    def has_role(self, role: str) -> bool:
        return str(role) in self._entries

    def get_agent(self, role: str) -> Any:
        return self._entry(role).agent

    def get_agents_by_role(self, roles: Iterable[str]) -> list[Any]:
        with self._lock:
            return [self._entry(r).agent for r in roles]

    def get_roles(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def enable_agent(self, role: str) -> None:
        self._update(role, enabled=True)

    def disable_agent(self, role: str) -> None:
        self._update(role, enabled=False)

    def is_enabled(self, role: str) -> bool:
        return self._entry(role).enabled

    def get_available_roles(self) -> list[str]:
        with self._lock:
            return [r for r, e in self._entries.items() if e.enabled]

    def set_user_agent(self, role: str) -> None:
        self._update(role, human=True)

    def unset_user_agent(self, role: str) -> None:
        self._update(role, human=False)

    def is_user_agent(self, role: str) -> bool:
        return self._entry(role).human

    def get_user_agents(self) -> list[str]:
        with self._lock:
            return [r for r, e in self._entries.items() if e.human]
