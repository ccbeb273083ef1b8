"""Identities as small frozen values that validate themselves; actor names derive from them here only."""

from __future__ import annotations

import re
from dataclasses import dataclass

from msagent.errors import ConfigError
from msagent.schemas import DEFAULT_SEND_TO

# Role names are shown in frames as '<role>: chunk', so no ':' and no control characters;
# any other script (e.g. Chinese character names in the chat room) is fine.
_ROLE_BAD = re.compile(r"[:\x00-\x1f\x7f]")
_PREFIX_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
HUMAN_INPUT_MODES = ("CLOSE", "ON", "TERMINAL")


def human_input_mode(value: object) -> str:
    """``CLOSE`` (the model answers), ``ON`` (a person's answer is published as is) or ``TERMINAL``
    (read from the terminal, the model when empty); anything else is a ``ConfigError``."""
    mode = str(getattr(value, "value", value)).upper()
    if mode not in HUMAN_INPUT_MODES:
        raise ConfigError(
            f"unknown human_input_mode {value!r}: use one of {', '.join(HUMAN_INPUT_MODES)}",
            field="human_input_mode",
        )
    return mode


@dataclass(frozen=True)
class Role:
    """An agent's role: the address mail is sent to."""

    name: str

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise ConfigError(f"invalid role {name!r}: use a non-empty name without surrounding spaces")
        if len(name) > 128 or _ROLE_BAD.search(name):
            raise ConfigError(f"invalid role {name!r}: at most 128 characters, no ':' or control characters")
        if name == DEFAULT_SEND_TO:
            raise ConfigError(f"invalid role {name!r}: '{DEFAULT_SEND_TO}' is reserved for broadcasts")

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ComponentId:
    """A component's name and optional prefix; ``actor_name`` is the one place names are formatted."""

    name: str
    prefix: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or _ROLE_BAD.search(self.name):
            raise ConfigError(f"invalid component name {self.name!r}")
        if self.prefix is not None and not _PREFIX_OK.match(self.prefix):
            raise ConfigError(
                f"invalid prefix_name {self.prefix!r}: letters, digits, '_', '.', '-' (at most 64)"
            )

    @property
    def actor_name(self) -> str:
        return f"{self.prefix}_{self.name}" if self.prefix else self.name

    def child(self, name: str) -> ComponentId:
        """A sibling component under the same prefix (the Task Center's env and registry)."""
        return ComponentId(name=name, prefix=self.prefix)
