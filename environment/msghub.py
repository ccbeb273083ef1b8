"""AgentScope-style MsgHub: what one participant says reaches every other participant.

``with MsgHub(env, [alice, bob], announcement='Topic: ...') as hub:`` then ``hub.speak(alice)``
(steps alice with her reply addressed to the other participants) or ``hub.broadcast(text, sender)``;
``hub.add(carol)`` / ``hub.delete(bob)`` change who listens. Participants are agents (objects or
actor handles) or role names; a thin layer over ``Environment`` routing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from msagent.errors import UnknownRoleError
from msagent.runtime.calls import call
from msagent.runtime.fanout import iter_step
from msagent.schemas import USER_REQUIREMENT, Message


class MsgHub:
    def __init__(
        self,
        env: Any,
        participants: Sequence[Any] = (),
        announcement: Message | str | None = None,
        announcer: str = USER_REQUIREMENT,
    ) -> None:
        self.env = env
        self.announcement = announcement
        self.announcer = announcer
        self._agents: dict[str, Any] = {}
        self.add(*participants)

    @property
    def participants(self) -> list[str]:
        return list(self._agents)

    def add(self, *participants: Any) -> None:
        known = set(call(self.env, "get_roles"))
        for p in participants:
            role = p if isinstance(p, str) else call(p, "get_role")
            if role not in known:
                raise UnknownRoleError(f"MsgHub participant {role!r} is not registered in the environment", role=role)
            self._agents[role] = None if isinstance(p, str) else p

    def delete(self, *participants: Any) -> None:
        for p in participants:
            role = p if isinstance(p, str) else call(p, "get_role")
            if self._agents.pop(role, ...) is ...:
                raise UnknownRoleError(f"{role!r} is not a participant of this MsgHub", role=role)

    def _others(self, sender: str) -> list[str]:
        return [r for r in self._agents if r != sender]

    def broadcast(self, message: Message | str, sender: str | None = None) -> int | None:
        """Send to every participant but the sender; None when nobody else is listening."""
        who = sender or (message.sent_from or message.role if isinstance(message, Message) else self.announcer)
        others = self._others(who)
        if not others:
            return None
        content = message.content if isinstance(message, Message) else str(message)
        msg = Message(role=who, content=content, sent_from=who, send_to=others)
        return int(call(self.env, "store_message_from_role", who, msg))

    def speak(self, participant: Any, **kwargs: Any) -> Iterator[str]:
        """Step a participant; its reply goes to the other participants."""
        role = participant if isinstance(participant, str) else call(participant, "get_role")
        agent = self._agents.get(role) if isinstance(participant, str) else participant
        if role not in self._agents or agent is None:
            raise UnknownRoleError(f"{role!r} is not a participant of this MsgHub (or was added by name)", role=role)
        others = self._others(role)
        # an agent whose actor dies mid-turn is stepped again once (AgentLostError if it stays dead)
        yield from iter_step(agent, role, send_to=others or "all", **kwargs)

    def __enter__(self) -> MsgHub:
        if self.announcement is not None:
            self.broadcast(self.announcement, self.announcer)
        return self

    def __exit__(self, *exc: object) -> None:
        return None


msghub = MsgHub
