"""Stories written in the page: a draft is checked field by field, then saved as YAML in the data dir.

Each story is a folder ``<data dir>/chatroom/stories/<id>/`` holding ``story.yaml`` (the same
shape as the built-in story file) and the avatars uploaded for it. ``load_user_stories`` lists
them next to the built-ins; a folder that no longer reads is logged and skipped.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Collection
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from apps.chatroom.stories import AVATAR_DIR, MAX_ROLES, RESERVED, ROLE_NAME, Story, StoryRole, load_stories
from msagent.errors import InvalidScenarioError
from msagent.settings import data_dir

log = logging.getLogger(__name__)

AVATAR_TYPES = {".png", ".jpg", ".jpeg", ".svg"}
MAX_AVATAR_BYTES = 512 * 1024
LIMITS = {"title": 80, "setting": 600, "topic": 300, "description": 300, "sample": 200}


def story_root() -> Path:
    return data_dir("chatroom/stories")


def builtin_avatars() -> list[str]:
    return sorted(p.name for p in AVATAR_DIR.iterdir() if p.suffix.lower() in AVATAR_TYPES)


class CharacterDraft(BaseModel):
    name: str = ""
    description: str = ""
    sample: str = ""
    avatar: str = ""  # a built-in avatar file name, or '' for a coloured initial
    upload: str = ""  # a path to an uploaded image (wins over ``avatar``)

    def avatar_file(self) -> str:
        """The avatar's file name in the story: an upload is saved as '<name><suffix>'."""
        return f"{self.name.strip()}{Path(self.upload).suffix.lower()}" if self.upload else self.avatar

    def blank(self) -> bool:
        return not (self.name.strip() or self.description.strip() or self.sample.strip())


class StoryDraft(BaseModel):
    title: str = ""
    setting: str = ""
    topic: str = ""
    opener: str = ""
    characters: list[CharacterDraft] = Field(default_factory=list)


def slug(title: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    return text or "story"


def check(draft: StoryDraft, taken_ids: Collection[str] = ()) -> tuple[Story | None, dict[str, str]]:
    """The story, or the problems keyed by field ('title', 'name-0', 'avatar-2', 'characters', ...)."""
    errors: dict[str, str] = {}
    for key in ("title", "setting", "topic"):
        value = getattr(draft, key).strip()
        if not value:
            errors[key] = f"Write a {'scene' if key == 'setting' else key}."
        elif len(value) > LIMITS[key]:
            errors[key] = f"Keep it under {LIMITS[key]} characters (now {len(value)})."
    filled = [(i, c) for i, c in enumerate(draft.characters) if not c.blank()]
    if not 2 <= len(filled) <= MAX_ROLES:
        errors["characters"] = f"A story needs 2 to {MAX_ROLES} characters (now {len(filled)})."
    seen: dict[str, int] = {}
    for i, c in filled:
        name = c.name.strip()
        if not name:
            errors[f"name-{i}"] = "Give this character a name."
        elif not ROLE_NAME.match(name):
            errors[f"name-{i}"] = "One word of letters, digits or _ (it is how others @mention them)."
        elif name.lower() in RESERVED:
            errors[f"name-{i}"] = f"'{name}' is reserved; pick another name."
        elif name.lower() in seen:
            errors[f"name-{i}"] = f"Two characters are called {name}."
        else:
            seen[name.lower()] = i
        for key in ("description", "sample"):
            value = getattr(c, key).strip()
            if key == "description" and not value:
                errors[f"{key}-{i}"] = "Say in a sentence who they are."
            elif len(value) > LIMITS[key]:
                errors[f"{key}-{i}"] = f"Keep it under {LIMITS[key]} characters (now {len(value)})."
        problem = _avatar_problem(c)
        if problem:
            errors[f"avatar-{i}"] = problem
    opener = draft.opener.strip()
    if opener and opener.lower() not in seen:
        errors["opener"] = f"'{opener}' is not one of the characters."
    if errors:
        return None, errors
    story_id = slug(draft.title)
    if story_id in taken_ids:
        story_id = f"my-{story_id}"[:40]
    roles = [
        StoryRole(
            name=c.name.strip(),
            description=c.description.strip(),
            sample=c.sample.strip() or None,
            avatar=c.avatar_file() or None,
        )
        for _, c in filled
    ]
    try:
        story = Story(
            id=story_id,
            title=draft.title.strip(),
            setting=draft.setting.strip(),
            topic=draft.topic.strip(),
            roles=roles,
            opener=next((r.name for r in roles if r.name.lower() == opener.lower()), None) if opener else None,
        )
    except ValidationError as e:  # the checks above should have caught it; say what is left
        return None, {"title": e.errors()[0]["msg"]}
    return story, {}


def _avatar_problem(c: CharacterDraft) -> str:
    if c.upload:
        path = Path(c.upload)
        if path.suffix.lower() not in AVATAR_TYPES:
            return f"Use a PNG, JPEG or SVG image (not {path.suffix or 'this file'})."
        if not path.is_file():
            return "The uploaded image is gone; upload it again."
        if path.stat().st_size > MAX_AVATAR_BYTES:
            return f"The image is over {MAX_AVATAR_BYTES // 1024} KB; pick a smaller one."
    elif c.avatar and c.avatar not in builtin_avatars():
        return f"There is no built-in avatar {c.avatar!r}."
    return ""


def save(story: Story, draft: StoryDraft, root: Path | None = None) -> Path:
    """Write ``<root>/<id>/story.yaml`` and copy the uploaded avatars next to it."""
    folder = (root or story_root()) / story.id
    folder.mkdir(parents=True, exist_ok=True)
    for c in draft.characters:
        if c.upload and not c.blank():
            shutil.copyfile(c.upload, folder / c.avatar_file())
    data = {"stories": [story.model_dump(mode="json", exclude_none=True)]}
    path = folder / "story.yaml"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        "# Written in the msagent chat room's story form.\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )
    tmp.replace(path)
    log.info("saved story %r to %s", story.id, path)
    return path


def load_user_stories(root: Path | None = None) -> list[Story]:
    stories = []
    for path in sorted((root or story_root()).glob("*/story.yaml")):
        try:
            stories += load_stories(path)
        except InvalidScenarioError as e:
            log.warning("skipping a saved story: %s", e)
    return stories
