"""A room's transcript as files: Markdown to read, JSONL to reopen the room and go on.

JSONL: the first line is the header ``{"type": "room", "version": 1, "story": {...}, "user_role",
"topic", "model", "saved_at"}`` (the whole story, so that a transcript opens without the story file), then
one ``{"type": "line", "role", "text", "kind"}`` per line of the room. No API key is ever written:
the model is only described.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from apps.chatroom.room import Line
from apps.chatroom.stories import Story
from msagent.errors import InvalidScenarioError

VERSION = 1
KINDS = ("say", "notice", "error")


@dataclass
class SavedRoom:
    story: Story
    user_role: str
    lines: list[Line]
    model: str = ""
    topic: str = ""


def to_markdown(story: Story, user_role: str, lines: Sequence[Line], model: str = "") -> str:
    out = [f"# {story.title}", "", f"*{story.setting.strip()}*", ""]
    out += [f"- **{r.name}**{' (you)' if r.name == user_role else ''}: {r.description}" for r in story.roles]
    out += ["", f"Model: {model}" if model else "", ""]
    for line in lines:
        if line.kind == "say":
            who = f"{line.role} (you)" if line.role == user_role else line.role
            out += [f"**{who}:** {line.text}", ""]
        else:
            out += [f"> {line.text}", ""]
    return "\n".join(out).replace("\n\n\n", "\n\n").rstrip() + "\n"


def to_jsonl(story: Story, user_role: str, lines: Sequence[Line], model: str = "", topic: str = "") -> str:
    header = {
        "type": "room",
        "version": VERSION,
        "story": story.model_dump(mode="json", exclude_none=True),
        "user_role": user_role,
        "topic": topic,
        "model": model,
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    rows = [header] + [{"type": "line", "role": ln.role, "text": ln.text, "kind": ln.kind} for ln in lines]
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def from_jsonl(text: str, source: str = "transcript") -> SavedRoom:
    """Read a JSONL transcript; anything wrong is an ``InvalidScenarioError`` naming the line."""
    rows: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as e:
            raise InvalidScenarioError(f"{source} line {number} is not JSON: {e.msg}", path=source) from e
        if not isinstance(row, dict):
            raise InvalidScenarioError(f"{source} line {number} is not a JSON object", path=source)
        rows.append(row)
    if not rows or rows[0].get("type") != "room":
        raise InvalidScenarioError(
            f"{source} is not a chat-room transcript: its first line must be the room header "
            '({"type": "room", ...}); save one with the JSONL button of the room',
            path=source,
        )
    header = rows[0]
    try:
        story = Story.model_validate(header.get("story"))
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidScenarioError(f"{source}: the story in its header is invalid: {where}: {first['msg']}", path=source) from e
    user_role = str(header.get("user_role") or "")
    if user_role not in story.role_names:
        raise InvalidScenarioError(
            f"{source}: user_role {user_role!r} is not a role of the story ({', '.join(story.role_names)})", path=source
        )
    lines: list[Line] = []
    for number, row in enumerate(rows[1:], start=2):
        role, text, kind = str(row.get("role") or ""), str(row.get("text") or ""), row.get("kind", "say")
        if row.get("type") != "line" or kind not in KINDS:
            raise InvalidScenarioError(f"{source} line {number}: expected a line of kind {', '.join(KINDS)}", path=source)
        if kind == "say" and role not in story.role_names:
            raise InvalidScenarioError(f"{source} line {number}: {role!r} is not a role of the story", path=source)
        lines.append(Line(role, text, kind))
    return SavedRoom(
        story=story,
        user_role=user_role,
        lines=lines,
        model=str(header.get("model") or ""),
        topic=str(header.get("topic") or ""),
    )
