"""One chat room per browser session: its own agents, Environment and Task Center.

The room drives the multi-agent runtime: the director (a watcher agent) names who speaks next, the
named roles step in parallel and stream ``<role>: chunk`` frames, and the user's role is
human-driven. Every method is a generator that updates ``transcript`` and yields after each change,
so a UI can re-render as tokens arrive. Failures become notices in the transcript, never hangs:
a failed director means round-robin, a failed speaker is skipped, and when nobody could speak the
turn goes back to the user.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from apps.chatroom.director import (
    DIRECTOR_ROLE,
    Decision,
    decide,
    mentions,
    quiet_first,
    round_robin,
)
from apps.chatroom.profiles import ModelProfile, profile_for
from apps.chatroom.runtime import RoomRuntime
from apps.chatroom.stories import Story

log = logging.getLogger(__name__)

Phase = Literal["idle", "running", "your_turn", "closed"]


@dataclass
class Line:
    role: str  # a story role, or '' for a notice
    text: str = ""
    kind: Literal["say", "notice", "error"] = "say"
    streaming: bool = False


@dataclass
class RoomOptions:
    max_rounds: int = 3  # director rounds before the user is asked, whatever the director says
    max_speakers: int | None = None  # None: the model profile's (one at a time on the local model)
    max_tokens: int | None = None  # None: the model profile's (replies stay short: the room is a chat)

    def profile(self, llm: dict[str, Any]) -> ModelProfile:
        profile = profile_for(llm)
        if self.max_speakers:
            profile = replace(profile, max_speakers=self.max_speakers)
        if self.max_tokens:
            profile = replace(profile, max_tokens=self.max_tokens)
        return profile


@dataclass
class ChatRoom:
    story: Story
    user_role: str
    llm: dict[str, Any]
    remote: bool = False
    options: RoomOptions = field(default_factory=RoomOptions)
    prefix: str = field(default_factory=lambda: f"room{uuid.uuid4().hex[:10]}")
    transcript: list[Line] = field(default_factory=list)
    phase: Phase = "idle"
    status: str = ""
    topic: str = ""  # what the opener was given (kept in saved transcripts)
    first_token_s: float | None = None  # from begin() to the first streamed token, for the record
    choices: list[str] = field(default_factory=list)  # how each round's speakers were chosen (Decision.source)

    def __post_init__(self) -> None:
        if self.user_role not in self.story.role_names:
            raise ValueError(f"{self.user_role!r} is not a role of {self.story.title!r}")
        self.runtime: RoomRuntime | None = None
        self.profile = self.options.profile(self.llm)
        self.last_speaker: str | None = None
        self._last_source = ""
        self._failed = False  # the last _speak failed (an error is in the transcript)
        self._pass_to: str | None = None  # who speaks next without asking the director
        self._started_at = 0.0

    # --- lifecycle --------------------------------------------------------------------------------
    def open(self) -> None:
        if self.runtime is None:
            self.runtime = RoomRuntime.build(
                self.story,
                self.user_role,
                self.llm,
                remote=self.remote,
                prefix=self.prefix,
                profile=self.profile,
            )

    def close(self) -> None:
        self.phase = "closed"
        runtime, self.runtime = self.runtime, None
        if runtime is not None:
            runtime.close()

    # --- turns ------------------------------------------------------------------------------------
    def begin(self, opener: str, topic: str) -> Iterator[None]:
        """Start the story: the opener raises ``topic`` (or the user does, on their own turn)."""
        self._started_at = time.perf_counter()
        topic = topic.strip() or self.story.topic
        try:
            self.open()
            log.info("room %s: open %.1f s after Start", self.prefix, time.perf_counter() - self._started_at)
        except Exception as e:  # no model, bad config: say so in the room and stay usable
            log.exception("room %s failed to open", self.prefix)
            yield from self._problem(f"The room could not start: {brief_error(e)}")
            return
        assert self.runtime is not None
        if opener == self.user_role:
            self.status = f"Your turn: open the story as {self.user_role}."
            self.phase = "your_turn"
            yield
            return
        self.phase = "running"
        self.transcript.append(Line("", f"{opener} opens: {topic}", "notice"))  # what the cast was given
        self.topic = topic
        self.runtime.send_task(topic)
        spoken = yield from self._speak([opener])
        if not spoken and self._failed:
            yield from self._your_turn("Nobody could speak. Check the model, then say something.")
            return
        yield from self._rounds()

    def resume(self, lines: list[Line], topic: str = "") -> Iterator[None]:
        """Reopen a saved conversation: every agent hears it as the story so far, then the user
        goes on (whoever spoke last)."""
        self._started_at = time.perf_counter()
        self.transcript = [*lines, Line("", "Reopened from a saved transcript. Your turn.", "notice")]
        self.topic = topic
        try:
            self.open()
            assert self.runtime is not None
            said = [(line.role, line.text) for line in lines if line.kind == "say" and line.text.strip()]
            self.runtime.replay(([("", topic)] if topic else []) + said)
        except Exception as e:
            log.exception("room %s failed to reopen", self.prefix)
            yield from self._problem(f"The room could not reopen: {brief_error(e)}")
            return
        self.last_speaker = said[-1][0] if said else None
        yield from self._your_turn(None)

    def user_says(self, text: str) -> Iterator[None]:
        """The user's line as their role, then the room carries on until it is their turn again."""
        if self.phase != "your_turn":
            return
        if not text.strip():
            self.transcript.append(Line("", "Type something before sending (empty messages are not sent).", "notice"))
            yield
            return
        self.phase = "running"
        assert self.runtime is not None
        line = Line(self.user_role, text.strip())
        self.transcript.append(line)
        yield
        try:
            self.runtime.publish_user(self.user_role, text.strip())
        except Exception as e:
            log.exception("room %s could not publish the user's line", self.prefix)
            yield from self._problem(f"Your message could not be delivered: {brief_error(e)}")
            return
        self.last_speaker = self.user_role
        yield from self._rounds(last_text=text)

    # --- the loop ---------------------------------------------------------------------------------
    def _rounds(self, last_text: str | None = None) -> Iterator[None]:
        if last_text is None:
            last_text = self._last_text()
        for _ in range(self.options.max_rounds):
            decision = yield from self._direct(last_text)
            self.choices.append(decision.source)
            if decision.note and self._last_source != "round-robin":  # said once, not every round
                self.transcript.append(Line("", decision.note, "notice"))
            self._last_source = decision.source
            if self.user_role in decision.speakers:
                yield from self._your_turn(None)
                return
            spoken = yield from self._speak(decision.speakers)
            if not spoken and self._failed:
                yield from self._your_turn("Nobody could answer; the turn is yours.")
                return
            last_text = self._last_text()
        yield from self._your_turn(None)

    def _direct(self, last_text: str) -> Generator[None, None, Decision]:
        assert self.runtime is not None
        roles = self.story.role_names
        forced = [r for r in mentions(last_text, roles) if r != self.last_speaker]
        if forced:  # an @-mention decides; the director is not asked
            return decide(None, roles, self.last_speaker, last_text=last_text, max_speakers=self.profile.max_speakers)
        if self._pass_to:  # the last speaker had nothing new to say: the next one in turn, at once
            role, self._pass_to = self._pass_to, None
            return Decision([role], "pass")
        self.status = "The director is choosing who speaks next..."
        yield
        reply: str | None
        try:
            reply = "".join(chunk for _, chunk in self.runtime.step([DIRECTOR_ROLE]))
        except Exception as e:
            log.warning("room %s: director failed: %s", self.prefix, e)
            reply = None
        decision = decide(reply, roles, self.last_speaker, max_speakers=self.profile.max_speakers)
        ai_roles = [r for r in roles if r != self.user_role]
        return quiet_first(decision, [line.role for line in self.transcript if line.kind == "say"], ai_roles)

    def _speak(self, speakers: list[str]) -> Generator[None, None, list[str]]:
        """Step ``speakers`` in parallel, streaming each into its own line; returns who spoke."""
        assert self.runtime is not None
        lines: dict[str, Line] = {}
        self._failed = False
        self.status = f"{' and '.join(speakers)} {'is' if len(speakers) == 1 else 'are'} speaking..."
        yield
        try:
            for role, chunk in self.runtime.step(speakers):
                if role not in speakers:
                    continue
                line = lines.get(role)
                if line is None:
                    line = lines[role] = Line(role, "", streaming=True)
                    self.transcript.append(line)
                if chunk and self.first_token_s is None:
                    self.first_token_s = time.perf_counter() - self._started_at
                    log.info("room %s: first words %.1f s after Start", self.prefix, self.first_token_s)
                line.text += chunk
                yield
        except Exception as e:
            log.warning("room %s: %s failed: %s", self.prefix, speakers, e)
            self.transcript.append(Line("", f"{' / '.join(speakers)} could not answer: {brief_error(e)}", "error"))
            self._failed = True
        for line in lines.values():
            line.streaming = False
            if not line.text.strip():  # nothing new to say (see Character): no empty bubble
                self.transcript.remove(line)
        spoken = [r for r in speakers if r in lines and lines[r].text.strip()]
        if spoken:
            self.last_speaker = spoken[-1]
        elif not self._failed:  # they had nothing new to say (see Character): someone else goes on
            self._pass_to = round_robin(self.story.role_names, speakers[-1])
        yield
        return spoken

    def _your_turn(self, note: str | None) -> Iterator[None]:
        if note:
            self.transcript.append(Line("", note, "notice"))
        self.phase = "your_turn"
        self.status = f"Your turn: you are {self.user_role}. Use @Name to address someone."
        yield

    def _problem(self, message: str) -> Iterator[None]:
        self.transcript.append(Line("", message, "error"))
        self.phase = "idle"
        self.status = "Something went wrong; see the message above. Restart to try again."
        yield

    def _last_text(self) -> str:
        for line in reversed(self.transcript):
            if line.kind == "say":
                return line.text
        return ""


def brief_error(error: BaseException) -> str:
    """One readable line: the original error inside Ray's wrapper, without the remote traceback."""
    seen = 0
    while seen < 5 and isinstance(getattr(error, "cause", None), BaseException):
        error = error.cause  # type: ignore[attr-defined]
        seen += 1
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 240 else text[:237] + "..."
