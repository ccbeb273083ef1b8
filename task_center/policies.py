"""Who speaks next: pluggable speaker policies behind one registry (the built-ins use it too).

A policy has ``next_speakers(center) -> list[str]``; ``center`` offers ``speaker_candidates()``
(enabled, non-watcher roles in registration order), ``notified_roles()``, ``last_message()``,
``last_speakers()`` (the previous round's roles, in the order they were chosen; kept on disk with
the Task Center, so a resumed run goes on where it stopped) and ``ask_agent(role) -> str`` (steps a
watcher and returns its reply). ``get_policy`` accepts a name
('notified', 'round_robin', 'director'), a dict ``{'name': 'director', 'director': 'god'}`` or a policy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Protocol

import json5

from msagent.errors import ConfigError
from msagent.schemas import Message


class PolicyHost(Protocol):
    def speaker_candidates(self) -> list[str]: ...
    def notified_roles(self) -> list[str]: ...
    def last_message(self) -> Message | None: ...
    def last_speakers(self) -> list[str]: ...
    def ask_agent(self, role: str) -> str: ...


class SpeakerPolicy(Protocol):
    def next_speakers(self, center: PolicyHost) -> list[str]: ...


PolicyFactory = Callable[..., SpeakerPolicy]
_POLICIES: dict[str, PolicyFactory] = {}


def register_policy(*names: str) -> Callable[[PolicyFactory], PolicyFactory]:
    def decorator(factory: PolicyFactory) -> PolicyFactory:
        for name in names:
            _POLICIES[name] = factory
        return factory

    return decorator


def get_policy(spec: Any = "notified") -> SpeakerPolicy:
    if hasattr(spec, "next_speakers"):
        return spec  # type: ignore[no-any-return]
    options: dict[str, Any] = {}
    if isinstance(spec, dict):
        options = {k: v for k, v in spec.items() if k != "name"}
        spec = spec.get("name")
    factory = _POLICIES.get(str(spec))
    if factory is None:
        raise ConfigError(f"unknown speaker policy {spec!r}; use one of {sorted(_POLICIES)}", field="policy")
    try:
        return factory(**options)
    except TypeError as e:
        raise ConfigError(f"bad options for speaker policy {spec!r}: {e}", field="policy") from None


def _last_speakers(center: PolicyHost) -> list[str]:
    ask = getattr(center, "last_speakers", None)
    return list(ask()) if callable(ask) else []


def _last_speaker(center: PolicyHost) -> str | None:
    last = center.last_message()
    return (last.sent_from or last.role) if last else None


@register_policy("notified")
class NotifiedPolicy:
    """Everyone with unread mail speaks (the default)."""

    def next_speakers(self, center: PolicyHost) -> list[str]:
        candidates = set(center.speaker_candidates())
        return [r for r in center.notified_roles() if r in candidates]


@register_policy("round_robin")
class RoundRobinPolicy:
    """One role per round in registration order; never the last speaker unless it is alone."""

    def __init__(self, per_round: int = 1) -> None:
        self.per_round = max(1, int(per_round))
        self._cursor = 0

    def next_speakers(self, center: PolicyHost) -> list[str]:
        roles = center.speaker_candidates()
        if not roles:
            return []
        # go on after the last role of the previous round (the center remembers it across a
        # restart or a resumed run); the cursor only serves hosts that do not
        before = [r for r in _last_speakers(center) if r in roles]
        start = roles.index(before[-1]) + 1 if before else self._cursor
        last = _last_speaker(center)
        chosen: list[str] = []
        for i in range(len(roles)):
            role = roles[(start + i) % len(roles)]
            if role == last and len(roles) > 1:
                continue
            chosen.append(role)
            if len(chosen) >= min(self.per_round, len(roles)):
                break
        self._cursor = roles.index(chosen[-1]) + 1 if chosen else start
        return chosen


@register_policy("director")
class DirectorPolicy:
    """A watcher agent names the next speakers, e.g. ``{"next_speakers": ["Alice"]}``.

    An ``@role`` mention in the last message forces that role. Answers that are not JSON, name
    unknown roles or only the last speaker fall back to round-robin.
    """

    def __init__(self, director: str = "director", max_speakers: int = 2) -> None:
        self.director = director
        self.max_speakers = max(1, int(max_speakers))
        self._fallback = RoundRobinPolicy()
        self.last_answer = ""

    def next_speakers(self, center: PolicyHost) -> list[str]:
        roles = [r for r in center.speaker_candidates() if r != self.director]
        if not roles:
            return []
        last_msg = center.last_message()
        last = (last_msg.sent_from or last_msg.role) if last_msg else None
        allowed = [r for r in roles if r != last] or roles
        if last_msg is not None:
            mentioned = [r for r in allowed if re.search(rf"@{re.escape(r)}(?![\w])", last_msg.content)]
            if mentioned:
                return mentioned[: self.max_speakers]
        self.last_answer = center.ask_agent(self.director)
        named = [r for r in parse_speakers(self.last_answer) if r in allowed]
        if named:
            return list(dict.fromkeys(named))[: self.max_speakers]
        return [r for r in self._fallback.next_speakers(center) if r in allowed] or allowed[:1]


def parse_speakers(text: str) -> list[str]:
    """Names from ``{"next_speakers": [...]}``, a JSON list, or a string; [] when there are none."""
    match = re.search(r"\{.*\}|\[.*\]", text, re.S)
    if not match:
        return []
    try:
        data = json5.loads(match.group(0))
    except (ValueError, json.JSONDecodeError):
        return []
    if isinstance(data, dict):
        data = data.get("next_speakers", data.get("next_speaker", []))
    if isinstance(data, str):
        data = [data]
    return [str(x).strip() for x in data if isinstance(x, (str, int))] if isinstance(data, list) else []
