"""The room's agents on the multi-agent runtime: one Task Center per room, under the room's prefix.

Every story role is a ``Character`` (the user's role is human-driven, ``human_input_mode='ON'``)
and the ``Director`` is a watcher that hears the whole conversation and publishes nothing.
Locally everything is a plain object; with ``remote=True`` each is a named Ray actor
``{prefix}_{name}``, killed again by ``close()``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.chatroom.director import DIRECTOR_ROLE
from apps.chatroom.profiles import ModelProfile
from apps.chatroom.stories import Story
from msagent.schemas import USER_REQUIREMENT, Message

log = logging.getLogger(__name__)


def split_frame(frame: str) -> tuple[str, str]:
    """``'<role>: chunk'`` -> (role, chunk); role names never contain ':'."""
    role, sep, chunk = frame.partition(": ")
    if not sep:
        role, _, chunk = frame.partition(":")
    return role, chunk


@dataclass
class RoomRuntime:
    task_center: Any
    remote: bool
    prefix: str
    names: list[str] = field(default_factory=list)
    agents: dict[str, Any] = field(default_factory=dict)  # role -> agent (object or actor handle)

    @classmethod
    def build(
        cls,
        story: Story,
        user_role: str,
        llm: dict[str, Any],
        *,
        remote: bool,
        prefix: str,
        profile: ModelProfile,
    ) -> RoomRuntime:
        from apps.chatroom.character import Character
        from apps.chatroom.director_agent import Director
        from msagent.runtime.calls import call
        from msagent.runtime.component import create_component
        from task_center import TaskCenter

        # durable=False: a room lives as long as its browser session, so its log need not outlive it
        task_center = create_component(
            TaskCenter, name="task_center", remote=remote, prefix_name=prefix, durable=False
        )
        runtime = cls(task_center=task_center, remote=remote, prefix=prefix, names=["task_center"])
        try:
            agents = []
            for role in story.roles:
                agent = create_component(
                    Character,
                    name=role.name,
                    remote=remote,
                    prefix_name=prefix,
                    story=story,
                    profile=profile,
                    llm=llm,
                    human_input_mode="ON" if role.name == user_role else "CLOSE",
                )
                agents.append(agent)
                runtime.names.append(role.name)
                runtime.agents[role.name] = agent
            agents.append(
                create_component(
                    Director, name=DIRECTOR_ROLE, remote=remote, prefix_name=prefix, story=story, profile=profile, llm=llm
                )
            )
            runtime.names.append(DIRECTOR_ROLE)
            call(task_center, "add_agents", agents)
        except BaseException:
            runtime.close()
            raise
        return runtime

    def send_task(self, text: str) -> None:
        from msagent.runtime.calls import call

        call(self.task_center, "send_task_request", text, send_to="all")

    def step(self, roles: list[str], user_response: str | None = None) -> Iterator[tuple[str, str]]:
        """(role, chunk) pairs while ``roles`` speak (in parallel on Ray)."""
        from msagent.runtime.calls import iter_call

        for frame in iter_call(self.task_center, "step", allowed_roles=roles, user_response=user_response):
            yield split_frame(str(frame))

    def replay(self, lines: Sequence[tuple[str, str]]) -> None:
        """Put a saved conversation back into the Environment, each line from its speaker, so
        that every agent hears it as the story so far (a reopened transcript)."""
        from msagent.runtime.calls import call

        env = call(self.task_center, "get_env")
        items = [
            (who or USER_REQUIREMENT, Message(role=who or USER_REQUIREMENT, content=text))
            for who, text in lines
        ]
        if items:
            call(env, "store_messages", items)

    def publish_user(self, role: str, text: str) -> None:
        """The user's line, published by their human-driven agent."""
        for _ in self.step([role], user_response=text):
            pass

    def close(self) -> None:
        """Release the room: its environment log and, on Ray, every actor it created."""
        from msagent.runtime.calls import call

        try:
            call(self.task_center, "close")
        except Exception as e:  # closing must go on: the actors below are what cost memory
            log.warning("room %s: closing the task center failed: %s", self.prefix, e)
        if self.remote:
            from msagent.runtime.component import kill_component
            from msagent.runtime.ids import ComponentId

            for name in self.names:
                kill_component(ComponentId(name=name, prefix=self.prefix).actor_name)
