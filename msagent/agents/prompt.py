"""The system prompt of a role-playing agent: who it is, what it knows, which tools it has."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from msagent.schemas import ToolSpec

_ROLE_KEYS = ("name", "description", "instruction")


def role_text(instruction: str | dict[str, Any] | None, name: str | None, description: str | None) -> str:
    """``instruction`` is text, or a role dict ``{'name', 'description', 'instruction', ...}``
    whose other keys are rendered as ``key: value`` lines."""
    role = dict(instruction) if isinstance(instruction, dict) else {"instruction": instruction or ""}
    name = role.get("name") or name
    description = role.get("description") or description
    lines = []
    if name:
        lines.append(f"You are {name}." + (f" {description}" if description else ""))
    elif description:
        lines.append(str(description))
    if role.get("instruction"):
        lines.append(str(role["instruction"]))
    lines += [f"{k}: {v}" for k, v in role.items() if k not in _ROLE_KEYS and v not in (None, "")]
    return "\n".join(lines)


def system_prompt(
    instruction: str | dict[str, Any] | None,
    name: str | None,
    description: str | None,
    tools: Sequence[ToolSpec] = (),
    knowledge: str | None = None,
) -> str:
    parts = [role_text(instruction, name, description)]
    if knowledge and knowledge.strip():
        parts.append("# Knowledge\nUse this knowledge where it helps to answer:\n" + knowledge.strip())
    if tools:
        listed = "\n".join(f"- {t.name}: {t.description}" for t in tools)
        parts.append(
            "# Tools\nYou can call these tools; call several at once when they do not depend on each "
            "other, and answer from their results:\n" + listed
        )
    return "\n\n".join(p for p in parts if p)
