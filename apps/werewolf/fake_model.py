"""A scripted werewolf player for the fake OpenAI server: it reads the request (its system prompt,
what it heard, the moderator's last question) and answers a JSON object, the same for the same
request. Games on it are reproducible, so a local game and a distributed one can be compared.

    FakeOpenAIServer(handler=werewolf_reply)
"""

from __future__ import annotations

import json
import re
from typing import Any

_ME = re.compile(r"You are (Player\d+)")
_ROLE = re.compile(r"Your role: (\w+)")
_WOLVES = re.compile(r"The werewolves are: ([^.]+)\.")
_ALIVE = re.compile(r"Alive players: ([^.]+)\.")
_FOUND = re.compile(r"Seer result: (Player\d+) is a werewolf")
_CHECKED = re.compile(r"Seer result: (Player\d+) is")
_ACCUSED = re.compile(r"I think (Player\d+) is a werewolf")


def _texts(body: dict[str, Any]) -> list[str]:
    return [str(m.get("content") or "") for m in body.get("messages") or [] if isinstance(m, dict)]


def _first(pattern: re.Pattern[str], text: str, default: str = "") -> str:
    found = pattern.search(text)
    return found.group(1) if found else default


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def werewolf_reply(body: dict[str, Any]) -> str:
    texts = _texts(body)
    system = texts[0] if texts else ""
    me = _first(_ME, system)
    role = _first(_ROLE, system, "villager")
    wolves = _names(_first(_WOLVES, system))
    questions = [t for t in texts if t.startswith("Moderator: ")]
    question = questions[-1] if questions else ""
    alive = _names(_first(_ALIVE, question))
    others = [p for p in alive if p != me]
    heard = "\n".join(texts)
    if role == "werewolf":
        target = next((p for p in others if p not in wolves), others[0] if others else "")
    else:
        found = [p for p in _FOUND.findall(heard) if p in others]
        since_day = heard[heard.rfind("Moderator: Day ") :] if "Moderator: Day " in heard else ""
        accused = [p for p in _ACCUSED.findall(since_day) if p in others]
        after_me = [p for p in alive[alive.index(me) + 1 :] + alive if p != me] if me in alive else others
        target = (found or accused or after_me or [""])[0]
    if "healing potion" in question:
        answer: dict[str, Any] = {"speak": "I will use my potion.", "resurrect": True}
    elif "poison" in question:
        answer = {"speak": "I keep my poison.", "poison": "no"}
    elif "Seer, which player" in question:
        checked = set(_CHECKED.findall(heard))
        pick = next((p for p in others if p not in checked), target)
        answer = {"speak": f"I check {pick}.", "check": pick}
    elif "vote" in question:
        answer = {"speak": f"I vote for {target}.", "vote": target}
    elif "discuss" in question.lower():
        line = f"Let us eliminate {target}." if "Night falls" in question else f"I think {target} is a werewolf."
        answer = {"thought": f"{target} looks like the right choice.", "speak": line, "agreement": True}
    else:
        answer = {"speak": "I am listening."}
    return json.dumps(answer)
