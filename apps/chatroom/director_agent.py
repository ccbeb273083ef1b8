"""The director of a room: a watcher agent that proposes who speaks next (``director.decide``
then applies the room's rules to its answer).

On a small local model it continues the same story text the characters read by a few words, and
the first name it writes is its choice (the shared beginning costs nothing: llama.cpp's cache);
a hosted chat model is asked for ``{"next_speakers": [...]}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from apps.chatroom.director import DIRECTOR_ROLE
from apps.chatroom.listener import StoryListener
from apps.chatroom.profiles import HOSTED, ModelProfile
from apps.chatroom.prompts import director_chat_prompt, prose_prompt
from apps.chatroom.stories import Story
from msagent.llm import TextDelta
from msagent.schemas import Message


class Director(StoryListener):
    def __init__(self, story: Story, profile: ModelProfile = HOSTED, **kwargs: Any) -> None:
        kwargs.setdefault("name", DIRECTOR_ROLE)
        super().__init__(story, profile, is_watcher=True, **kwargs)

    def prompt(self) -> list[Message]:
        if self.profile.style == "prose":
            return [Message(role="user", content=prose_prompt(self.story, self.recent(), ""))]
        return director_chat_prompt(self.story, self.recent())

    def _run(self, query: str, history: Sequence[Message | dict] | None = None, **kwargs: Any) -> Iterator[str]:
        settings = dict(self.profile.director_sampling)
        if self.profile.style == "prose":
            settings["stop"] = ['"', "\n"]
        for event in self.require_llm().chat(self.prompt(), stream=True, **settings):
            if isinstance(event, TextDelta) and event.text:
                yield event.text
