"""The director's answers, read tolerantly: garbage never stalls the room (round-robin instead)."""

from __future__ import annotations

import pytest

from apps.chatroom.director import decide, mentions, round_robin
from apps.chatroom.prompts import director_instruction
from apps.chatroom.stories import all_stories

ROLES = ["Mira", "Tomas", "Ines", "Rook"]


def test_clean_json_is_followed() -> None:
    d = decide('{"next_speakers": ["Ines", "Rook"]}', ROLES, "Mira")
    assert (d.speakers, d.source, d.note) == (["Ines", "Rook"], "director", "")


def test_json_inside_chatter_and_case_and_at_signs() -> None:
    d = decide('Sure! Here you go: {next_speakers: ["@ines"]} hope that helps', ROLES, "Mira")
    assert d.speakers == ["Ines"]


def test_plain_text_naming_roles_is_read_in_order() -> None:
    d = decide("I think Rook should answer, then maybe Tomas.", ROLES, "Mira")
    assert d.speakers == ["Rook", "Tomas"]


def test_last_speaker_is_never_chosen_and_at_most_max_speakers() -> None:
    d = decide('{"next_speakers": ["Mira", "Tomas", "Ines", "Rook"]}', ROLES, "Mira", max_speakers=2)
    assert d.speakers == ["Tomas", "Ines"]


@pytest.mark.parametrize(
    "reply",
    ["", "lorem ipsum", "{not json at all", '{"next_speakers": []}', "[]", "12345", '{"next_speakers": "Mira"}', None],
)
def test_garbage_falls_back_to_round_robin(reply: str | None) -> None:
    d = decide(reply, ROLES, "Mira")
    assert d.source == "round-robin"
    assert d.speakers == ["Tomas"]
    assert "taking turns" in d.note


def test_unknown_roles_are_reported_and_fall_back() -> None:
    d = decide('{"next_speakers": ["Gandalf", "Zed"]}', ROLES, "Tomas")
    assert d.speakers == ["Ines"]
    assert d.unknown == ["Gandalf", "Zed"]
    assert "unknown roles (Gandalf, Zed)" in d.note


def test_unknown_roles_beside_a_known_one_keep_the_known_one() -> None:
    d = decide('{"next_speakers": ["Gandalf", "Rook"]}', ROLES, "Tomas")
    assert (d.speakers, d.note) == (["Rook"], "")


def test_mention_forces_the_addressed_role_whatever_the_director_says() -> None:
    d = decide('{"next_speakers": ["Ines"]}', ROLES, "Tomas", last_text="What do you think, @rook?")
    assert (d.speakers, d.source) == (["Rook"], "mention")
    # a speaker mentioning themselves does not force themselves
    assert decide('{"next_speakers": ["Ines"]}', ROLES, "Rook", last_text="I, @Rook, say no").speakers == ["Ines"]


def test_mentions_ignore_unknown_names_and_repeats() -> None:
    assert mentions("@Mira @nobody @mira @Ines!", ROLES) == ["Mira", "Ines"]


def test_round_robin_wraps_and_starts_at_the_first_role() -> None:
    assert round_robin(ROLES, "Rook") == "Mira"
    assert round_robin(ROLES, None) == "Mira"


def test_instruction_is_short_and_names_every_role() -> None:
    for story in all_stories():
        text = director_instruction(story)
        assert all(name in text for name in story.role_names)
        assert len(text.split()) < 90
