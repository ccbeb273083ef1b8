"""The room's agents on the multi-agent runtime: one Task Center per room, under the room's prefix.

Every story role is a RolePlay agent (the user's role is human-driven, ``human_input_mode='ON'``)
and the director is a watcher RolePlay that sees the whole conversation and publishes nothing.
Locally everything is a plain object; with ``remote=True`` each is a named Ray actor
``{prefix}_{name}``, killed again by ``close()``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.chatroom.director import DIRECTOR_ROLE
from apps.chatroom.stories import Story, StoryRole
from msagent.schemas import USER_REQUIREMENT, Message

log = logging.getLogger(__name__)


def role_instruction(story: Story, role: StoryRole) -> str:
    """Short on purpose: small local models follow two sentences better than a page. (RolePlay
    puts "You are <name>. <description>" before it.)"""
    others = ", ".join(r.name for r in story.roles if r.name != role.name)
    return (
        f"Scene: {story.setting} The others here are {others}. "
        f"Speak only as {role.name}, in one or two short sentences, without writing your name first."
    )


def _said(messages: Sequence[Message]) -> list[str]:
    lines = []
    for m in messages:
        who = m.sent_from or m.role
        lines.append(f"The scene: {m.content}" if who == USER_REQUIREMENT else f'{who} says: "{m.content}"')
    return lines


def scene_prompt(role: str, messages: Sequence[Message]) -> str:
    """What a character reads: what was said since it last spoke, then one plain question.
    (Module level, bound with functools.partial, so that it pickles to Ray actors.)"""
    return "\n".join([*_said(messages), f"What does {role} say now? Reply with {role}'s words only."])


def director_prompt(roles: Sequence[str], messages: Sequence[Message]) -> str:
    names = ", ".join(roles)
    return "\n".join(
        [*_said(messages), f'Who of {names} should speak next? Answer only with JSON: {{"next_speakers": ["Name"]}}']
    )


def _with_generation(llm: dict[str, Any], **settings: Any) -> dict[str, Any]:
    generate = {**dict(llm.get("generate_cfg") or {}), **settings}
    return {**llm, "generate_cfg": generate}


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

    @classmethod
    def build(
        cls,
        story: Story,
        user_role: str,
        llm: dict[str, Any],
        director_instruction: str,
        *,
        remote: bool,
        prefix: str,
        max_tokens: int = 120,
    ) -> RoomRuntime:
        from msagent.agents import RolePlay
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
                human = role.name == user_role
                # stop where a small model starts writing the next character's line (OpenAI allows 4)
                stop = [f"\n{r}:" for r in story.role_names if r != role.name][:4]
                agents.append(
                    create_component(
                        RolePlay,
                        name=role.name,
                        remote=remote,
                        prefix_name=prefix,
                        llm=_with_generation(llm, max_tokens=max_tokens, stop=stop),
                        instruction=role_instruction(story, role),
                        description=role.description,
                        human_input_mode="ON" if human else "CLOSE",
                        parse_env_prompt_function=functools.partial(scene_prompt, role.name),
                    )
                )
                runtime.names.append(role.name)
            agents.append(
                create_component(
                    RolePlay,
                    name=DIRECTOR_ROLE,
                    remote=remote,
                    prefix_name=prefix,
                    llm=_with_generation(llm, max_tokens=40, temperature=0.2),
                    instruction=director_instruction,
                    is_watcher=True,
                    # only what was said since it last chose: short prompts, and the newest lines matter
                    use_history=False,
                    parse_env_prompt_function=functools.partial(director_prompt, story.role_names),
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
