"""A story character: an agent that hears the room and says one short line at a time.

Its prompt is the story so far in the style its model handles best (``prompts.py``). The reply
streams through ``ReplyFilter`` (labels, echoes and repeats dropped); when nothing is left, the
model is asked once more with other sampling and another lead-in, and when that also yields
nothing the character stays silent this turn (the room shows no empty bubble).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from apps.chatroom.listener import StoryListener
from apps.chatroom.profiles import HOSTED, ModelProfile
from apps.chatroom.prompts import chat_prompt, prose_cue, prose_instructions, prose_prompt
from apps.chatroom.repair import ReplyFilter
from apps.chatroom.stories import Story
from msagent.llm import FinishEvent, TextDelta
from msagent.schemas import Message

log = logging.getLogger(__name__)


class Character(StoryListener):
    """``Character(story, name, profile=HOSTED, llm=..., **agent_kwargs)``: one role of ``story``."""

    def __init__(self, story: Story, name: str, profile: ModelProfile = HOSTED, **kwargs: Any) -> None:
        role = story.role(name)
        super().__init__(story, profile, name=role.name, description=role.description, **kwargs)
        self.retries = 0  # replies that needed the second try, for the record
        self.silent = 0  # turns where both tries left nothing
        self.instruction_texts: set[str] = set()  # every instruction text a prompt carried (for the checker)

    def prompt(self, attempt: int = 0) -> tuple[list[Message], list[str]]:
        """The messages of this turn's model call and the instructions they contain."""
        me = self.name or ""
        if self.profile.style == "prose":
            cue = prose_cue(me, attempt)
            text = prose_prompt(self.story, self.recent(), cue)
            return [Message(role="user", content=text)], prose_instructions(self.story, cue)
        return chat_prompt(self.story, me, self.recent(), attempt)

    def _stop_words(self) -> list[str]:
        if self.profile.style == "prose":
            return ['"', "\n"]  # the closing quote ends the line
        return [f"\n{r}:" for r in self.story.role_names if r != self.name][:4]  # OpenAI takes 4

    def _run(self, query: str, history: Sequence[Message | dict] | None = None, **kwargs: Any) -> Iterator[str]:
        llm = self.require_llm()
        said = [text for _, text in self.lines]
        text = ""
        for attempt in range(2):
            messages, instructions = self.prompt(attempt)
            self.instruction_texts.update(instructions)
            reply = ReplyFilter(instructions=instructions, said=said, roles=self.story.role_names)
            settings = {**self.profile.generation(retry=attempt > 0), "stop": self._stop_words()}
            events = llm.chat(messages, stream=True, **settings)
            cut = False
            try:
                for event in events:
                    if isinstance(event, TextDelta):
                        shown = reply.feed(event.text)
                        if shown:
                            yield shown
                        if reply.full:
                            break
                    elif isinstance(event, FinishEvent):
                        cut = event.reason == "length"
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()  # stops the model when the reply is full
            rest = reply.finish(cut=cut)
            if rest:
                yield rest
            if reply.dropped:
                log.info("%s: dropped %s", self.name, "; ".join(reply.dropped[:6]))
            text = reply.text
            if text:
                self.retries += attempt
                break
        else:
            self.silent += 1
            log.info("%s had nothing new to say after two tries", self.name)
        if text:
            self.lines.append((self.name or "", text))

    def stats(self) -> dict[str, Any]:
        return {"retries": self.retries, "silent": self.silent, "instructions": sorted(self.instruction_texts)}
