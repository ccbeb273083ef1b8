"""AgentScope's ``msghub`` on msagent's Environment.

``with msghub(participants=[a1, a2, a3], announcement=None, env=None) as hub:`` — inside, what a
participant says (``a1()`` / ``a1(x)``) reaches every other participant's ``observe``;
``hub.broadcast(msg)`` reaches all of them; ``hub.add(agent)`` / ``hub.delete(agent)`` change who
listens from then on. Hubs nest; an agent speaks to its innermost hub.

Every hub message goes through an Environment, logged durably and taken from each participant's
mailbox with an acknowledgement. Without ``env`` the hub gets one of the session's (in this
process, or an actor when a participant is distributed) with no other open hub on it: the
participants are its enabled roles and a reply is addressed to 'all' of them but its sender (one
small message, however many listen). With ``env`` (say, a Task Center's, so the hub's traffic sits
in the same log as the rest of the runtime) a reply names the other participants' roles. Local
participants receive at once; a distributed participant takes its mail in its actor when it next
speaks and when it leaves the hub, so a round of N distributed agents costs N actor calls, not N².
Its replies are published by its actor: the hub never waits for a distributed reply, and the next
speaker's call waits in its own actor for the previous one (each speaker has heard all before it).
A local participant, ``broadcast``, ``delete`` and leaving the hub wait here for pending distributed
replies (what was said in the hub reaches everyone who was in it when it was said).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from msagent.agents.agentscope.base import AgentBase
from msagent.agentscope.placeholder import PlaceholderMsg, fetch
from msagent.agentscope.route import HubRoute
from msagent.agentscope.session import current
from msagent.errors import ConfigError, DuplicateRoleError
from msagent.message import Msg, from_message, iter_msgs, to_message
from msagent.runtime.calls import call, call_async, is_actor
from msagent.schemas import DEFAULT_SEND_TO


class MsgHubManager:
    def __init__(self, participants: Sequence[AgentBase], announcement: Any = None, env: Any = None) -> None:
        self.participants: list[AgentBase] = []
        self.announcement = announcement
        self._given_env = env
        self._remote = False  # the kind of Environment leased from the session (when none was given)
        self.env: Any = None
        self._tail: Any = None  # the reference of the latest distributed speaker's reply
        for agent in participants:
            self._check_new(agent)
            self.participants.append(agent)

    # --- lifecycle --------------------------------------------------------------------------------
    @property
    def _owns_env(self) -> bool:
        return self._given_env is None

    def __enter__(self) -> MsgHubManager:
        if self._owns_env:
            self._remote = any(a.is_distributed for a in self.participants)
            self.env = current().lease_hub_env(self._remote)
        else:
            self.env = self._given_env
        try:
            for agent in self.participants:
                self._check_env(agent)
            self._join(self.participants)
        except BaseException:
            self._close_env()
            raise
        if self.announcement is not None:
            self.broadcast(self.announcement)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._hand_out(self.participants)  # returns once their hub mail is theirs
            self._part(self.participants)
        finally:
            for agent in self.participants:
                self._leave(agent)
            self._close_env()

    def _close_env(self) -> None:
        if self._owns_env and self.env is not None:
            current().release_hub_env(self.env, self._remote)
        self.env = None

    def _join(self, agents: Sequence[AgentBase]) -> None:
        """Make ``agents`` listeners: registered roles, enabled (on a hub's own Environment the roles
        of earlier hubs are disabled, so 'all' reaches only this hub's participants)."""
        names = [a.name for a in agents]
        known = set(call(self.env, "get_roles")) if self._owns_env else set()
        call(self.env, "register_roles", names)
        self._set_enabled([n for n in names if n in known], True)
        for agent in agents:
            agent._hubs.append(self)

    def _part(self, agents: Sequence[AgentBase]) -> None:
        self._set_enabled([a.name for a in agents], False)

    def _set_enabled(self, names: Sequence[str], enabled: bool) -> None:
        if self._owns_env:
            pending = [call_async(self.env, "set_role_enabled", n, enabled) for n in names]  # sent together
            for result in pending:
                result.result()

    # --- what AgentScope users call ---------------------------------------------------------------
    def broadcast(self, msg: Any) -> None:
        """``msg`` (one ``Msg`` or a list) to every participant but its sender."""
        env = self._env()
        self._wait_tail(raise_errors=False)  # it comes after what was said before it
        for item in iter_msgs(msg):
            plain = item.resolved() if isinstance(item, PlaceholderMsg) else item
            sender = str(plain.get("name"))
            if any(a.name != sender for a in self.participants):
                to = self._send_to(sender)
                call(env, "store_message_from_role", sender, to_message(plain, to if isinstance(to, str) else list(to), sender))
        self._deliver_local()

    def add(self, new_participant: AgentBase | Sequence[AgentBase]) -> None:
        agents = [new_participant] if isinstance(new_participant, AgentBase) else list(new_participant)
        for agent in agents:
            self._check_new(agent)
            if self.env is not None:
                self._check_env(agent)
                self._join([agent])
            self.participants.append(agent)

    def delete(self, participant: AgentBase | Sequence[AgentBase]) -> None:
        agents = [participant] if isinstance(participant, AgentBase) else list(participant)
        for agent in agents:
            if not any(a is agent for a in self.participants):
                raise ConfigError(f"agent {agent.name!r} is not a participant of this msghub", agent=agent.name)
        if self.env is not None:
            self._hand_out(agents)  # what was said to it while it was in the hub, pending replies too
            self._part(agents)
        for agent in agents:
            self.participants = [a for a in self.participants if a is not agent]
            if self.env is not None:
                self._leave(agent)

    # --- a participant speaks ---------------------------------------------------------------------
    def speak(self, agent: AgentBase, x: Any = None) -> Msg:
        """``agent(x)`` inside the hub: its reply goes to the other participants."""
        env = self._env()
        route = HubRoute(env, agent.name, self._send_to(agent.name))
        if agent.is_distributed:
            reply = agent.hub_turn_async(route, x, after=[] if self._tail is None else [self._tail])  # type: ignore[attr-defined]
            self._tail = reply.ref
            return reply
        self._wait_tail(raise_errors=True)
        reply = agent._hub_turn(route, x)
        self._deliver_local()
        return reply

    def _send_to(self, sender: str) -> str | tuple[str, ...]:
        if self._owns_env:
            return DEFAULT_SEND_TO  # the enabled roles are the participants; never the sender itself
        others = tuple(a.name for a in self.participants if a.name != sender)
        # alone in the hub, a reply is still logged (addressed to its sender: nobody receives it)
        return others or (sender,)

    # --- delivery ---------------------------------------------------------------------------------
    def _hand_out(self, agents: Sequence[AgentBase]) -> None:
        """Give ``agents`` their unread hub mail, including the replies still being written (they
        must land before the agents stop listening): distributed ones take it in their actors, all
        at once, and this returns when they have."""
        after = [] if self._tail is None else [self._tail]
        drains = [
            agent.hub_drain_async(HubRoute(self.env, agent.name, ()), after=after)  # type: ignore[attr-defined]
            for agent in agents
            if agent.is_distributed
        ]
        self._wait_tail(raise_errors=False)
        local = [a for a in agents if not a.is_distributed]
        if local:
            self._deliver_local(local)
        for drain in drains:
            try:
                fetch(drain, "a hub participant")
            except Exception:  # noqa: BLE001  (an agent that died or failed: raised where it is used next)
                pass

    def _deliver_local(self, agents: Sequence[AgentBase] | None = None) -> None:
        """Local participants observe their mail now: one read and one acknowledgement for all."""
        local = [a for a in (self.participants if agents is None else agents) if not a.is_distributed]
        if not local:
            return
        _, mail = call(self.env, "read_round", [a.name for a in local])
        acks = []
        for agent in local:
            deliveries = mail.get(agent.name) or []
            if deliveries:
                agent.observe([from_message(d.message) for d in deliveries])
                acks.append((agent.name, deliveries[-1].seq))
        if acks:
            call(self.env, "store_messages", [], acks)

    def _wait_tail(self, raise_errors: bool) -> None:
        if self._tail is None:
            return
        tail, self._tail = self._tail, None
        try:
            fetch(tail, "a hub participant")
        except Exception:
            if raise_errors:
                raise
            # only its end was awaited: the failure is raised where that reply is read

    # --- checks -----------------------------------------------------------------------------------
    def _env(self) -> Any:
        if self.env is None:
            raise ConfigError("this msghub is not open: use it as `with msghub(...) as hub:`")
        return self.env

    def _check_new(self, agent: Any) -> None:
        if not isinstance(agent, AgentBase):
            raise ConfigError(f"msghub participants are agents (AgentBase), not {type(agent).__name__}")
        if any(a.name == agent.name for a in self.participants):
            raise DuplicateRoleError(f"two msghub participants are named {agent.name!r}", role=agent.name)

    def _check_env(self, agent: AgentBase) -> None:
        if agent.is_distributed and not is_actor(self.env):
            raise ConfigError(
                f"distributed agent {agent.name!r} cannot reach this msghub's Environment, which lives in "
                "this process: open the hub with a distributed participant, or pass env= an Environment actor"
            )

    def _leave(self, agent: AgentBase) -> None:
        for i in range(len(agent._hubs) - 1, -1, -1):
            if agent._hubs[i] is self:
                del agent._hubs[i]
                break


def msghub(participants: Sequence[AgentBase], announcement: Any = None, env: Any = None) -> MsgHubManager:
    """``with msghub(participants=[...], announcement=None) as hub:`` (see the module docstring)."""
    return MsgHubManager(participants, announcement=announcement, env=env)
