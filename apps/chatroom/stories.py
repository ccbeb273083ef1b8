"""Stories of the chat room: a title, a setting, roles with descriptions and avatars, an opening topic.

Built-in stories live in ``story_files/builtin.yaml``; ``load_stories(path)`` reads more from any YAML
file of the same shape. Avatars are image files (SVG/PNG) found next to the story file or in
``avatars/``; a role without one gets a coloured circle with its initial.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from msagent.errors import InvalidScenarioError

HERE = Path(__file__).resolve().parent
BUILTIN_STORIES = HERE / "story_files" / "builtin.yaml"
AVATAR_DIR = HERE / "avatars"
ROLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")  # one word, so that '@Name' can address it
RESERVED = {"user", "all", "system", "assistant", "director", "tool"}
MAX_ROLES = 8  # a room of more than eight is hard to follow, and each is a model call a round
_MIME = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class StoryRole(BaseModel):
    name: str
    description: str = Field(min_length=1)
    avatar: str | None = None  # file name or path; resolved by Story.avatar_uri
    sample: str | None = None  # a line in the character's voice: small models copy the tone of an example

    @field_validator("name")
    @classmethod
    def _one_word(cls, name: str) -> str:
        if not ROLE_NAME.match(name):
            raise ValueError(f"role name {name!r} must be one word of letters, digits or '_' (it is @-mentioned)")
        if name.lower() in RESERVED:
            raise ValueError(f"role name {name!r} is reserved; pick another")
        return name


class Story(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_\-]{1,40}$")
    title: str = Field(min_length=1)
    setting: str = Field(min_length=1)
    topic: str = Field(min_length=1)
    roles: list[StoryRole] = Field(min_length=2, max_length=MAX_ROLES)
    opener: str | None = None  # who raises the topic (default: the first role)
    source_dir: str = Field(default="", exclude=True)  # where relative avatar paths are looked up (set by the loader)

    @model_validator(mode="after")
    def _unique_roles(self) -> Story:
        names = [r.name.lower() for r in self.roles]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"story {self.id!r} has duplicate roles: {', '.join(dupes)}")
        if self.opener is not None and self.opener.lower() not in names:
            raise ValueError(f"opener {self.opener!r} is not one of the roles ({', '.join(self.role_names)})")
        return self

    @property
    def first_speaker(self) -> str:
        return self.role(self.opener).name if self.opener else self.roles[0].name

    @property
    def role_names(self) -> list[str]:
        return [r.name for r in self.roles]

    def role(self, name: str) -> StoryRole:
        for r in self.roles:
            if r.name.lower() == name.lower():
                return r
        raise KeyError(name)

    def avatar_uri(self, name: str) -> str:
        """A data URI for the role's avatar (so the page needs no file routes)."""
        try:
            avatar = self.role(name).avatar
        except KeyError:
            avatar = None
        return avatar_uri(avatar, name, Path(self.source_dir) if self.source_dir else None)


def avatar_uri(avatar: str | None, name: str, base: Path | None = None) -> str:
    if avatar:
        for candidate in (base / avatar if base else None, AVATAR_DIR / avatar, Path(avatar)):
            if candidate is not None and candidate.is_file() and candidate.suffix.lower() in _MIME:
                data = base64.b64encode(candidate.read_bytes()).decode()
                return f"data:{_MIME[candidate.suffix.lower()]};base64,{data}"
    return initial_avatar(name)


def initial_avatar(name: str) -> str:
    """A coloured circle with the name's initial; the colour is stable per name."""
    hue = int(hashlib.md5(name.encode()).hexdigest()[:4], 16) % 360
    letter = html.escape((name[:1] or "?").upper())
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        f'<circle cx="32" cy="32" r="32" fill="hsl({hue},55%,55%)"/>'
        f'<text x="32" y="42" font-size="30" text-anchor="middle" fill="#fff" font-family="sans-serif">{letter}</text>'
        "</svg>"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


class StoryFile(BaseModel):
    stories: list[Story] = Field(min_length=1)


def load_stories(path: Path | str) -> list[Story]:
    """Stories from a YAML file ``{stories: [...]}``; a bad file raises ``InvalidScenarioError``."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidScenarioError(f"cannot read story file {path}: {e}", path=str(path)) from e
    except yaml.YAMLError as e:
        raise InvalidScenarioError(f"story file {path} is not valid YAML: {e}", path=str(path)) from e
    if isinstance(raw, dict) and isinstance(raw.get("stories"), list):
        for item in raw["stories"]:
            if isinstance(item, dict):
                item.setdefault("source_dir", str(path.parent))
    try:
        return StoryFile.model_validate(raw).stories
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidScenarioError(f"story file {path}: {where}: {first['msg']}", path=str(path)) from e


def all_stories(extra: Path | str | None = None) -> list[Story]:
    """The built-in stories, then those of ``extra`` (an id seen twice keeps the later one)."""
    stories = {s.id: s for s in load_stories(BUILTIN_STORIES)}
    if extra:
        stories.update({s.id: s for s in load_stories(extra)})
    return list(stories.values())
