"""What the agents read: prose for small local models (sharing its beginning across calls), chat
for hosted ones; and the per-model profiles."""

from __future__ import annotations

from apps.chatroom.profiles import LOCAL, OPENAI, profile_for
from apps.chatroom.prompts import chat_prompt, prose_cue, prose_prompt, story_header, visible
from apps.chatroom.stories import all_stories

STORY = next(s for s in all_stories() if s.id == "lighthouse")


def test_prose_is_the_scene_the_cast_in_their_voice_and_the_talk_ending_in_an_open_quote() -> None:
    lines = [("", "The lamp went dark."), ("Tomas", 'The "radio" is dead.\nWhat now?'), ("Rook", "Aye.")]
    text = prose_prompt(STORY, lines, prose_cue("Mira", 0))
    assert text.startswith(STORY.setting.strip())
    assert 'Mira likes to say, "Forty winters' in text  # the few-shot line in her voice
    assert "The talk turned to this: The lamp went dark." in text
    assert "Tomas said, \"The 'radio' is dead. What now?\"" in text  # one line, no stray quotes
    assert text.endswith('Rook said, "Aye."\nMira said, "')
    assert prose_cue("Mira", 1) != prose_cue("Mira", 0), "the retry starts differently"


def test_every_agent_of_a_room_reads_the_same_beginning() -> None:
    """llama.cpp reuses its cache for the common prefix: only the newest lines cost time."""
    said = [("", "The lamp went dark.")] + [(r, f"line {i}") for i, r in enumerate(["Mira", "Tomas", "Ines"] * 6)]
    # the director's prompt after n lines, then the next speaker's after one more line
    breaks = [
        n
        for n in range(2, len(said))
        if not prose_prompt(STORY, visible(said[: n + 1], LOCAL.window), prose_cue("Ines", 0)).startswith(
            prose_prompt(STORY, visible(said[:n], LOCAL.window), "")
        )
    ]
    assert len(breaks) <= 2, breaks  # the window moves in steps: 17 of 19 calls share the cache
    shown = visible(said, LOCAL.window)
    assert shown[0] == ("", "The lamp went dark.") and LOCAL.window <= len(shown) - 1 < LOCAL.window + LOCAL.window // 2


def test_chat_prompt_for_hosted_models() -> None:
    messages, instructions = chat_prompt(STORY, "Ines", [("", "The lamp went dark."), ("Rook", "Aye.")])
    system, user = messages[0].content, messages[1].content
    assert system.startswith("You are Ines, a marine biologist") and "no name or label in front" in system
    assert user.splitlines()[:2] == ["Topic: The lamp went dark.", "Rook: Aye."]
    assert user.endswith("What does Ines say now?") and instructions[0] == system
    retry, _ = chat_prompt(STORY, "Ines", [], attempt=1)
    assert "not been said yet" in retry[1].content


def test_profiles_per_model() -> None:
    assert profile_for({"model_server": "local"}) is LOCAL and LOCAL.style == "prose"
    assert LOCAL.sampling["continue_text"] and LOCAL.sampling["repeat_penalty"] > 1 and LOCAL.max_speakers == 1
    assert profile_for({"model_server": "openai"}) is OPENAI and OPENAI.style == "chat"
    assert profile_for({"model_server": "dashscope"}).style == "chat"
    assert LOCAL.generation(retry=True)["temperature"] > LOCAL.generation()["temperature"]
    assert story_header(STORY).count("likes to say") == 4
