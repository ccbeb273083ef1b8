"""Who speaks next: the director's answer, read tolerantly, with the room's rules applied.

The director is a watcher agent asked for ``{"next_speakers": [...]}``. Small models rarely answer
in clean JSON, so its reply is read in three ways (JSON, then names found in the text) and, if
nothing usable remains, the room falls back to round-robin. The rules always hold: at most
``max_speakers`` roles, only roles of the story, never the one who just spoke, and an ``@Name``
in the last message makes that role answer whatever the director says. A character that has been
quiet for a while gets the floor (``quiet_first``): small directors favour whoever was named last.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import json5

DIRECTOR_ROLE = "director"
_MENTION = re.compile(r"@([A-Za-z][A-Za-z0-9_]*)")
_JSON_OBJECT = re.compile(r"\{.*?\}", re.S)


@dataclass
class Decision:
    speakers: list[str]
    source: str  # 'mention' | 'director' | 'round-robin'
    note: str = ""  # shown in the room when the director's answer was not usable
    unknown: list[str] = field(default_factory=list)


def mentions(text: str, roles: list[str]) -> list[str]:
    """Roles addressed as ``@Name`` in ``text`` (case-insensitive), in order, without repeats."""
    by_lower = {r.lower(): r for r in roles}
    found: list[str] = []
    for name in _MENTION.findall(text):
        role = by_lower.get(name.lower())
        if role and role not in found:
            found.append(role)
    return found


def _names_from_json(reply: str) -> list[str] | None:
    for candidate in [reply, *_JSON_OBJECT.findall(reply)]:
        try:
            data = json5.loads(candidate)
        except (ValueError, json.JSONDecodeError, RecursionError):
            continue
        if isinstance(data, dict):
            value = data.get("next_speakers", data.get("next_speaker"))
            if isinstance(value, str):
                return [value]
            if isinstance(value, list):
                return [str(v) for v in value if isinstance(v, (str, int))]
        if isinstance(data, list):
            return [str(v) for v in data if isinstance(v, str)]
    return None


def _names_in_text(reply: str, roles: list[str]) -> list[str]:
    hits = []
    for role in roles:
        match = re.search(rf"\b{re.escape(role)}\b", reply, re.I)
        if match:
            hits.append((match.start(), role))
    return [role for _, role in sorted(hits)]


def round_robin(roles: list[str], last_speaker: str | None) -> str:
    """The role after ``last_speaker`` in story order (the first role when nobody spoke yet)."""
    if last_speaker not in roles:
        return roles[0]
    return roles[(roles.index(last_speaker) + 1) % len(roles)]


def decide(
    reply: str | None,
    roles: list[str],
    last_speaker: str | None,
    *,
    last_text: str = "",
    max_speakers: int = 2,
) -> Decision:
    """The next speakers from the director's ``reply`` (None when the director failed)."""
    forced = [r for r in mentions(last_text, roles) if r != last_speaker]
    if forced:
        return Decision(forced[:max_speakers], "mention")
    by_lower = {r.lower(): r for r in roles}
    unknown: list[str] = []
    picked: list[str] = []
    named = _names_from_json(reply) if reply else None
    if named is not None:
        for name in named:
            role = by_lower.get(name.strip().lstrip("@").lower())
            if role is None:
                unknown.append(name)
            elif role != last_speaker and role not in picked:
                picked.append(role)
    elif reply:
        picked = [r for r in _names_in_text(reply, roles) if r != last_speaker]
    if picked:
        return Decision(picked[:max_speakers], "director", unknown=unknown)
    if reply is None:
        why = "the director could not answer"
    elif unknown:
        why = f"the director named unknown roles ({', '.join(unknown[:3])})"
    else:
        why = "the director's answer named nobody who may speak"
    return Decision([round_robin(roles, last_speaker)], "round-robin", note=f"{why}; taking turns in order", unknown=unknown)


def quiet_first(decision: Decision, speakers_so_far: list[str], ai_roles: list[str]) -> Decision:
    """Give the floor to the AI character silent the longest, when it has been silent for
    ``2 * len(ai_roles)`` lines (or never spoke after that many); an @-mention still wins."""
    if decision.source == "mention" or not ai_roles:
        return decision
    window = 2 * len(ai_roles)
    if len(speakers_so_far) < window:
        return decision
    last = speakers_so_far[-1] if speakers_so_far else None
    recent = set(speakers_so_far[-window:])
    quiet = [r for r in ai_roles if r not in recent and r != last]
    if not quiet or any(r in quiet for r in decision.speakers):
        return decision

    def silent_for(role: str) -> int:
        for back, who in enumerate(reversed(speakers_so_far)):
            if who == role:
                return back
        return len(speakers_so_far) + 1

    role = max(quiet, key=silent_for)
    return Decision([role], "quiet", unknown=decision.unknown)
