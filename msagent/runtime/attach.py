"""Which Environment an actor belongs to, kept where a restarted actor finds it again.

An agent (or a pool) that is handed its environment records the environment actor's name under
its own actor name (``<data dir>/attachments/<actor>.json``); after a crash Ray re-creates the
actor from its constructor arguments alone, and the actor looks its environment up by that name
(falling back to ``<prefix>_env``, the Task Center's convention).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from msagent.settings import data_dir


def _path(component: str) -> Path:
    return data_dir("attachments") / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', component)}.json"


def save_attachment(component: str, env_name: str) -> None:
    path = _path(component)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"env": env_name}), encoding="utf-8")
    os.replace(tmp, path)


def load_attachment(component: str) -> str | None:
    try:
        data = json.loads(_path(component).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    env = data.get("env") if isinstance(data, dict) else None
    return env if isinstance(env, str) and env else None


def discard_attachment(component: str) -> None:
    _path(component).unlink(missing_ok=True)


def find_actor(actor_name: str) -> Any:
    """The named actor's handle, or None when there is no such actor (or no Ray)."""
    try:
        import ray

        if not ray.is_initialized():
            return None
        return ray.get_actor(actor_name)
    except (ValueError, ImportError):
        return None
