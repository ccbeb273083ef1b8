"""Transcripts: Markdown to read, JSONL to reopen; a bad file is a clear error naming the line."""

from __future__ import annotations

import json

import pytest

from apps.chatroom.room import Line
from apps.chatroom.stories import all_stories
from apps.chatroom.transcript import from_jsonl, to_jsonl, to_markdown
from msagent.errors import InvalidScenarioError

STORY = next(s for s in all_stories() if s.id == "lighthouse")
LINES = [
    Line("", "Mira opens: the lamp is out.", "notice"),
    Line("Mira", "Tomas, the lamp!"),
    Line("Rook", "I saw a light."),
    Line("", "Tomas could not answer: timeout", "error"),
]


def test_round_trip_and_markdown() -> None:
    text = to_jsonl(STORY, "Rook", LINES, model="m via openai", topic="the lamp is out.")
    saved = from_jsonl(text)
    assert saved.story.id == "lighthouse" and saved.user_role == "Rook" and saved.topic == "the lamp is out."
    assert [(ln.role, ln.text, ln.kind) for ln in saved.lines] == [(ln.role, ln.text, ln.kind) for ln in LINES]
    assert "source_dir" not in json.loads(text.splitlines()[0])["story"]
    md = to_markdown(STORY, "Rook", LINES, model="m via openai")
    assert md.startswith("# Storm at Greyrock Light\n")
    assert "**Mira:** Tomas, the lamp!" in md and "**Rook (you):** I saw a light." in md
    assert "> Tomas could not answer: timeout" in md and "Model: m via openai" in md


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "not a chat-room transcript"),
        ("not json\n", "line 1 is not JSON"),
        ('{"type": "line"}\n', "not a chat-room transcript"),
        ('{"type": "room", "story": {"id": "x"}}\n', "story in its header is invalid"),
    ],
)
def test_bad_files(text: str, match: str) -> None:
    with pytest.raises(InvalidScenarioError, match=match):
        from_jsonl(text, source="t.jsonl")


def test_lines_must_belong_to_the_story() -> None:
    good = to_jsonl(STORY, "Rook", LINES)
    with pytest.raises(InvalidScenarioError, match="user_role 'Zed'"):
        from_jsonl(good.replace('"user_role": "Rook"', '"user_role": "Zed"'))
    with pytest.raises(InvalidScenarioError, match="line 3: 'Ghost' is not a role"):
        from_jsonl(good.replace('"role": "Mira"', '"role": "Ghost"'))
    with pytest.raises(InvalidScenarioError, match="line 2: expected a line"):
        from_jsonl(good.replace('"kind": "notice"', '"kind": "shout"'))
