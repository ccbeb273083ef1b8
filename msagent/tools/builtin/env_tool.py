"""``EnvTool``: a registered tool that belongs to an environment (XAgent's envs: ``FileSystemEnv``,
``PythonNotebook``, ``ShellEnv``, ``WebEnv``, ``RapidAPIEnv``), named ``<Env>_<action>``.

Its settings come from ``cfg[<tool name>]`` over ``cfg[<Env>]`` (one part shared by the
environment's tools), else the flat ``cfg``. ``environments()`` groups tools by env.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from msagent.tools.base import BaseTool
from msagent.tools.builtin.workspace import resolve_in, workspace_root

ENV_DESCRIPTIONS: dict[str, str] = {
    "FileSystemEnv": "Read, write and edit text files in the workspace (paths relative to its root).",
    "PythonNotebook": "A Python notebook with a persistent kernel (numpy as np, pandas as pd, matplotlib.pyplot as "
                      "plt ready): run cells, read the notebook; charts come back as PNG images.",
    "ShellEnv": "Run shell commands in the workspace with a timeout, or in the background and read their "
                "output later.",
    "WebEnv": "Fetch web pages as readable text and search the web through the configured search engine.",
    "RapidAPIEnv": "Call RapidAPI-style HTTP APIs with the configured key.",
}


class EnvTool(BaseTool):
    env: ClassVar[str] = ""

    def __init__(self, cfg: dict | None = None) -> None:
        cfg = dict(cfg or {})
        shared = cfg.get(self.env) if isinstance(cfg.get(self.env), dict) else None
        own = cfg.get(self.name) if isinstance(cfg.get(self.name), dict) else None
        if shared is not None or own is not None:
            cfg = {**(shared or {}), **(own or {})}
        super().__init__(cfg)

    @property
    def workspace(self) -> Path:
        return workspace_root(self.cfg.get("workspace"))

    def path(self, value: Any, what: str = "filepath") -> Path:
        """A path argument resolved inside the workspace (``WorkspacePathError`` outside it)."""
        return resolve_in(self.workspace, str(value), what)


def env_of(tool_class: type[BaseTool]) -> str:
    return str(getattr(tool_class, "env", "") or "")


def environments(tools: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """``[{name, description, tools}]`` (XAgent's shape) from ``(tool name, env)`` pairs."""
    grouped: dict[str, list[str]] = {}
    for name, env in tools:
        if env:
            grouped.setdefault(env, []).append(name)
    return [{"name": env, "description": ENV_DESCRIPTIONS.get(env, ""), "tools": names}
            for env, names in sorted(grouped.items())]
