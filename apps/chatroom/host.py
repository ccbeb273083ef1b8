"""A room in a process of its own: the body of the room's Ray actor.

On Ray each room is one actor holding its ChatRoom: its Task Center, Environment, Character and
Director agents live in that process (the in-process runtime), the local model is the one shared
model actor, and a crash of one room cannot take the page or other rooms down. One actor per room
instead of one per role is what lets the first room answer seconds after start-up: a Ray worker
costs a second or more of CPU to start, and a room of four characters would need eight.

The room's generators run here; the page gets ``RoomUpdate``s: what changed in the transcript since
the last update (usually the tail of the line being streamed) and the room's phase and status.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from apps.chatroom.room import ChatRoom, Line, RoomOptions
from apps.chatroom.stories import Story

log = logging.getLogger(__name__)


@dataclass
class RoomUpdate:
    phase: str
    status: str
    keep: int  # transcript lines before this index are unchanged
    lines: list[Line] = field(default_factory=list)  # the transcript from ``keep`` on
    first_token_s: float | None = None
    topic: str = ""
    choices: list[str] = field(default_factory=list)


def import_agents() -> None:
    """Import what a room builds (agents, Task Center, Environment): a second or more of CPU that
    should not fall on the first room's first words."""
    import apps.chatroom.character  # noqa: F401
    import apps.chatroom.director_agent  # noqa: F401
    import task_center  # noqa: F401


def _key(line: Line) -> tuple[str, str, str, bool]:
    return (line.role, line.text, line.kind, line.streaming)


class RoomHost:
    """``RoomHost()`` then ``open(story, user_role, llm, options, prefix)``; a spare host is
    created before anyone needs it, so that opening a room costs no process start."""

    def __init__(self) -> None:
        self.room: ChatRoom | None = None
        self._sent: list[tuple[str, str, str, bool]] = []

    def ready(self) -> bool:
        import_agents()  # here, while the host waits to be used: not on the first room's time
        return True

    def open(self, story: Story, user_role: str, llm: dict[str, Any], options: RoomOptions, prefix: str) -> None:
        if self.room is not None:
            self.room.close()
        self.room = ChatRoom(story, user_role, llm, remote=False, options=options, prefix=prefix)
        self._sent = []

    def begin(self, opener: str, topic: str) -> Iterator[RoomUpdate]:
        yield from self._updates(self._room().begin(opener, topic))

    def user_says(self, text: str) -> Iterator[RoomUpdate]:
        yield from self._updates(self._room().user_says(text))

    def resume(self, lines: list[Line], topic: str) -> Iterator[RoomUpdate]:
        yield from self._updates(self._room().resume(lines, topic))

    def close(self) -> None:
        room, self.room = self.room, None
        if room is not None:
            room.close()

    def _room(self) -> ChatRoom:
        if self.room is None:
            raise RuntimeError("this room host has no room: open() it first")
        return self.room

    def _updates(self, steps: Iterator[None]) -> Iterator[RoomUpdate]:
        for _ in steps:
            yield self.update()
        yield self.update()

    def update(self) -> RoomUpdate:
        room = self._room()
        now = [_key(line) for line in room.transcript]
        keep = 0
        while keep < min(len(now), len(self._sent)) and now[keep] == self._sent[keep]:
            keep += 1
        self._sent = now
        return RoomUpdate(
            phase=room.phase,
            status=room.status,
            keep=keep,
            lines=[Line(r, t, k, s) for r, t, k, s in now[keep:]],  # type: ignore[arg-type]
            first_token_s=room.first_token_s,
            topic=room.topic,
            choices=list(room.choices),
        )
