"""``StoryListener``: a RolePlay agent of a room that keeps the story so far as it heard it.

Its mail becomes lines ``(speaker, text)`` in the order the Environment delivered them (the topic
the room was given has speaker ''), its own replies are added as it says them, and every prompt is
built from these lines (``prompts.py``) instead of from chat history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apps.chatroom.profiles import HOSTED, ModelProfile
from apps.chatroom.prompts import Line, visible
from apps.chatroom.stories import Story
from msagent.agents import RolePlay
from msagent.schemas import USER_REQUIREMENT, Message


class StoryListener(RolePlay):
    def __init__(self, story: Story, profile: ModelProfile = HOSTED, **kwargs: Any) -> None:
        kwargs.setdefault("use_history", False)  # the story so far is kept here, as lines
        super().__init__(parse_env_prompt_function=self._hear, **kwargs)
        self.story = story
        self.profile = profile
        self.lines: list[Line] = []

    def _hear(self, messages: Sequence[Message]) -> str:
        """Mail -> the story so far; returns the newest line (the 'query' of this turn)."""
        for m in messages:
            who = m.sent_from or m.role
            if m.content.strip():  # an empty line is a character that stayed silent
                self.lines.append(("" if who == USER_REQUIREMENT else who, m.content.strip()))
        return self.lines[-1][1] if self.lines else ""

    def recent(self) -> list[Line]:
        """The topic and the recent lines, as every prompt shows them."""
        return visible(self.lines, self.profile.window)
