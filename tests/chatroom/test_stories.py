"""Built-in stories and stories from YAML files; bad files are typed errors naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.chatroom.stories import BUILTIN_STORIES, all_stories, load_stories
from msagent.errors import InvalidScenarioError


def test_builtin_stories_are_complete_with_real_avatars() -> None:
    stories = load_stories(BUILTIN_STORIES)
    assert len(stories) >= 3
    for story in stories:
        assert story.title and story.setting and story.topic and len(story.roles) >= 3
        for role in story.roles:
            assert role.description
            # every built-in role has its own drawn avatar, not the generated initial
            assert story.avatar_uri(role.name).startswith("data:image/svg+xml;base64,")
            assert role.avatar and (Path(BUILTIN_STORIES).parent.parent / "avatars" / role.avatar).is_file()


def test_extra_stories_from_yaml_with_a_local_avatar(tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    path = tmp_path / "mine.yaml"
    path.write_text(
        """
stories:
  - id: heist
    title: The Museum Heist
    setting: A museum at midnight.
    topic: The alarm is off. Go?
    roles:
      - {name: Nova, description: The planner., avatar: cat.png}
      - {name: Jax, description: The muscle.}
""",
        encoding="utf-8",
    )
    stories = all_stories(path)
    heist = stories[-1]
    assert heist.id == "heist" and [s.id for s in stories[:-1]] == [s.id for s in load_stories(BUILTIN_STORIES)]
    assert heist.avatar_uri("Nova").startswith("data:image/png;base64,")
    assert heist.avatar_uri("Jax").startswith("data:image/svg+xml;base64,")  # a generated initial


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("stories: [", "not valid YAML"),
        ("stories: []", "stories"),
        ("nothing: here", "stories"),
        (
            "stories: [{id: x, title: T, setting: S, topic: Q, roles: [{name: A, description: a}, {name: a, description: b}]}]",
            "duplicate roles: a",
        ),
        (
            "stories: [{id: x, title: T, setting: S, topic: Q, roles: [{name: 'Two Words', description: a}, {name: B, description: b}]}]",
            "one word",
        ),
        (
            "stories: [{id: x, title: T, setting: S, topic: Q, roles: [{name: director, description: a}, {name: B, description: b}]}]",
            "reserved",
        ),
        ("stories: [{id: x, title: T, setting: S, roles: [{name: A, description: a}, {name: B, description: b}]}]", "topic"),
    ],
)
def test_bad_story_files_name_the_problem(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidScenarioError, match=match):
        load_stories(path)


def test_missing_file_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidScenarioError, match="cannot read"):
        load_stories(tmp_path / "nope.yaml")
