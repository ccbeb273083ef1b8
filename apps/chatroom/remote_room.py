"""``RemoteRoom``: the page's side of a room that runs in its own Ray actor (``host.RoomHost``).

It looks like a ``ChatRoom`` to the app (the same attributes and generators): each update the host
streams is applied to the local transcript, then the generator yields so that the page re-renders.
If the host dies, that is a message in the room, never a hang.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from apps.chatroom.cluster import Cluster
from apps.chatroom.host import RoomUpdate
from apps.chatroom.room import Line, Phase, RoomOptions, brief_error
from apps.chatroom.stories import Story

log = logging.getLogger(__name__)


@dataclass
class RemoteRoom:
    story: Story
    user_role: str
    llm: dict[str, Any]
    cluster: Cluster
    options: RoomOptions = field(default_factory=RoomOptions)
    prefix: str = field(default_factory=lambda: f"room{uuid.uuid4().hex[:10]}")
    transcript: list[Line] = field(default_factory=list)
    phase: Phase = "idle"
    status: str = ""
    topic: str = ""
    first_token_s: float | None = None
    choices: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.user_role not in self.story.role_names:
            raise ValueError(f"{self.user_role!r} is not a role of {self.story.title!r}")
        self.host: Any = None

    def begin(self, opener: str, topic: str) -> Iterator[None]:
        yield from self._run("begin", opener, topic)

    def user_says(self, text: str) -> Iterator[None]:
        if self.phase != "your_turn":
            return
        yield from self._run("user_says", text)

    def resume(self, lines: list[Line], topic: str = "") -> Iterator[None]:
        self.transcript = list(lines)
        yield from self._run("resume", lines, topic)

    def close(self) -> None:
        self.phase = "closed"
        host, self.host = self.host, None
        if host is not None:
            self.cluster.release_host(host)

    def _run(self, method: str, *args: Any) -> Iterator[None]:
        from msagent.runtime.calls import call, iter_call

        try:
            if self.host is None:
                self.host = self.cluster.take_host()
                call(self.host, "open", self.story, self.user_role, self.llm, self.options, self.prefix)
            for update in iter_call(self.host, method, *args):
                if self.phase == "closed":
                    return
                self._apply(update)
                yield
        except Exception as e:  # the host died or Ray failed: say so, and let the user restart
            log.warning("room %s: %s failed: %s", self.prefix, method, e)
            for line in self.transcript:
                line.streaming = False
            self.transcript.append(Line("", f"The room stopped: {brief_error(e)}", "error"))
            self.phase = "idle"
            self.status = "Something went wrong; see the message above. Restart to try again."
            yield

    def _apply(self, update: RoomUpdate) -> None:
        self.transcript[update.keep :] = update.lines
        self.phase = update.phase  # type: ignore[assignment]
        self.status = update.status
        self.first_token_s = update.first_token_s
        self.topic = update.topic
        self.choices = update.choices
