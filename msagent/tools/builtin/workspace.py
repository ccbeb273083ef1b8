"""The workspace the environment tools share: one directory; every path a tool is given must stay
inside it (``WorkspacePathError`` otherwise, symlinks included).

Its root is the tool's ``cfg['workspace']``, else ``$MSAGENT_WORKSPACE`` (``/work/workspace`` in a
tool node), else ``<data dir>/workspace``.
"""

from __future__ import annotations

import os
from pathlib import Path

from msagent.errors import WorkspacePathError
from msagent.settings import data_dir

WORKSPACE_ENV = "MSAGENT_WORKSPACE"


def workspace_root(configured: str | os.PathLike | None = None) -> Path:
    root = Path(configured or os.environ.get(WORKSPACE_ENV) or data_dir("workspace"))
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


def resolve_in(root: Path, path: str | os.PathLike, what: str = "path") -> Path:
    """``path`` (relative to ``root``, or absolute inside it) as an absolute path inside ``root``."""
    text = str(path).strip()
    if not text or "\x00" in text:
        raise WorkspacePathError(f"{what} must be a non-empty path relative to the workspace, got {text!r}")
    candidate = Path(text)
    full = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if full != root and root not in full.parents:
        raise WorkspacePathError(
            f"{what} {text!r} is outside the workspace; use a path relative to the workspace root "
            f"(e.g. 'notes/todo.txt')", path=text)
    return full


def relative(root: Path, full: Path) -> str:
    """How a tool shows a workspace path: relative to the root, '/' separated."""
    rel = full.relative_to(root).as_posix()
    return rel or "."
