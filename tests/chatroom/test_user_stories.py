"""Stories from the page's form: checked field by field, saved as YAML in the data dir, listed."""

from __future__ import annotations

from pathlib import Path

import yaml

from apps.chatroom.stories import all_stories
from apps.chatroom.user_stories import CharacterDraft, StoryDraft, check, load_user_stories, save


def draft(**changes: object) -> StoryDraft:
    base = StoryDraft(
        title="The Museum Heist!",
        setting="The city museum at midnight.",
        topic="Do we go now?",
        opener="jax",
        characters=[
            CharacterDraft(name="Nova", description="The planner.", sample="Exits first.", avatar="thief.svg"),
            CharacterDraft(name="Jax", description="The safecracker."),
            CharacterDraft(),  # a blank row is not a character
        ],
    )
    return base.model_copy(update=changes)


def test_a_good_draft_becomes_a_story_saved_as_yaml(tmp_path: Path) -> None:
    story, errors = check(draft(), taken_ids={s.id for s in all_stories()})
    assert errors == {} and story is not None
    assert story.id == "the-museum-heist" and story.opener == "Jax" and story.role_names == ["Nova", "Jax"]
    path = save(story, draft(), tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["stories"][0]["roles"][0] == {
        "name": "Nova", "description": "The planner.", "avatar": "thief.svg", "sample": "Exits first."
    }  # fmt: skip
    [loaded] = load_user_stories(tmp_path)
    assert loaded == story.model_copy(update={"source_dir": str(path.parent)})
    assert loaded.avatar_uri("Nova").startswith("data:image/svg+xml;base64,")


def test_problems_are_reported_per_field() -> None:
    chars = [
        CharacterDraft(name="Two Words", description="x"),
        CharacterDraft(name="director", description="y"),
        CharacterDraft(name="Ann", description=""),
        CharacterDraft(name="ann", description="z", sample="s" * 201),
        CharacterDraft(name="Bo", description="b", upload="/nonexistent/face.gif"),
        CharacterDraft(name="Cy", description="c", avatar="nope.svg"),
    ]
    story, errors = check(draft(title=" ", topic="t" * 301, opener="Zed", characters=chars))
    assert story is None
    assert errors["title"] == "Write a title."
    assert "under 300" in errors["topic"] and "setting" not in errors
    assert "One word" in errors["name-0"] and "reserved" in errors["name-1"]
    assert "Say in a sentence" in errors["description-2"]
    assert "Two characters are called ann" in errors["name-3"] and "under 200" in errors["sample-3"]
    assert "PNG, JPEG or SVG" in errors["avatar-4"] and "no built-in avatar" in errors["avatar-5"]
    assert "'Zed' is not one of the characters" in errors["opener"]
    _, few = check(draft(characters=[CharacterDraft(name="Solo", description="alone")]))
    assert few["characters"] == "A story needs 2 to 8 characters (now 1)."
    _, many = check(draft(characters=[CharacterDraft(name=f"R{i}", description="d") for i in range(9)]))
    assert "now 9" in many["characters"]


def test_an_id_taken_by_a_built_in_story_gets_another() -> None:
    story, _ = check(draft(title="Lighthouse"), taken_ids={"lighthouse"})
    assert story is not None and story.id == "my-lighthouse"


def test_an_uploaded_avatar_is_copied_next_to_the_story(tmp_path: Path) -> None:
    face = tmp_path / "upload" / "face.PNG"
    face.parent.mkdir()
    face.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    d = draft(characters=[CharacterDraft(name="Nova", description="p", upload=str(face)),
                          CharacterDraft(name="Jax", description="s")])  # fmt: skip
    story, errors = check(d)
    assert story is not None, errors
    path = save(story, d, tmp_path / "stories")
    assert (path.parent / "Nova.png").read_bytes() == face.read_bytes()
    assert load_user_stories(tmp_path / "stories")[0].avatar_uri("Nova").startswith("data:image/png;base64,")


def test_a_broken_saved_story_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "story.yaml").write_text("stories: [", encoding="utf-8")
    assert load_user_stories(tmp_path) == []
