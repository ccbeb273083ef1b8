"""Where msagent keeps its state: one data directory (SQLite files, memories, uploads)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "MSAGENT_DATA_DIR"


def data_dir(sub: str | None = None) -> Path:
    """The data directory (``$MSAGENT_DATA_DIR`` or ``~/.msagent``), created on first use."""
    root = Path(os.environ.get(DATA_DIR_ENV) or Path.home() / ".msagent")
    path = root / sub if sub else root
    path.mkdir(parents=True, exist_ok=True)
    return path
