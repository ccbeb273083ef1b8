"""A Task Center's durable round book: how many rounds are done, the round in progress, lost agents.

Before a round's agents step, the round is written down (its number, roles, the mail boundary and
its step ids); after it, the count goes up. A center that comes back (a restarted actor, or
``msagent run --resume``) finds an unfinished round and finishes it for the roles whose replies
are missing, with the same mail and step ids, so a resumed run says what an uninterrupted one would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from msagent.runtime.state import StateStore


@dataclass(frozen=True)
class RoundRecord:
    number: int
    roles: list[str]
    until: Any  # the Environment's mail boundary, handed back as it came
    step_ids: dict[str, str]
    send_to: Any = "all"
    kwargs: dict[str, Any] = field(default_factory=dict)


class RoundBook:
    def __init__(self, store: StateStore, key: str) -> None:
        self._store = store
        self._key = key  # makes step ids unique to this center (and stable across its restarts)
        self.done = int(store.get("rounds_done", 0))
        self.open: RoundRecord | None = store.get("round_open")
        self.lost: dict[str, str] = dict(store.get("lost", {}))
        self.last_roles: list[str] = list(store.get("last_roles", []))

    def begin(self, roles: list[str], until: Any, send_to: Any, kwargs: dict[str, Any]) -> RoundRecord:
        number = self.done + 1
        ids = {r: f"{self._key}/r{number}/{r}" for r in roles}
        record = RoundRecord(number, list(roles), until, ids, send_to, _plain(kwargs))
        self.open = record
        if self._store.durable:
            self._store.put("round_open", record)
        return record

    def end(self, record: RoundRecord) -> None:
        self.done = max(self.done, record.number)
        self.open = None
        self.last_roles = list(record.roles)
        if self._store.durable:
            self._store.put("rounds_done", self.done)
            self._store.put("last_roles", self.last_roles)
            self._store.delete("round_open")

    def set_lost(self, role: str, reason: str | None) -> None:
        if reason is None:
            self.lost.pop(role, None)
        else:
            self.lost[role] = reason
        if self._store.durable:
            self._store.put("lost", self.lost)


def _plain(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The step keywords worth replaying (JSON-like values only)."""
    return {k: v for k, v in kwargs.items() if isinstance(v, (str, int, float, bool, type(None), list, dict))}
