"""XAgent's wrapped tool results: ``{type: simple, data}``, ``{type: binary, media_type, name, data
(base64)}`` and ``{type: composite, data: [...]}``.

``wrap`` (in a tool node): tools answer text in which an image is ``![name](path)`` (the code
interpreter's and the notebook's charts) and a file ``[name](path)``; a path to a file under one of
the node's own folders (workspace, data dir) becomes a binary part, so a chart leaves the container
as a PNG. Links to anything else stay text.
``to_text`` (on the caller's side): the inverse, binary parts saved as local files and shown as
``![name](local path)``, so an agent can show a chart made in a node.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from pathlib import Path
from typing import Any

from msagent.schemas import new_id

_FILE = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)\)")  # ![chart](path) or [report](path)
MAX_INLINE = 8 * 1024 * 1024  # bigger files stay a path (fetch them with /download_file)


def is_wrapped(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("type") in ("simple", "composite", "binary") and "data" in obj


def binary(path: Path, name: str | None = None) -> dict[str, Any]:
    media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {"type": "binary", "media_type": media, "name": name or path.name,
            "data": base64.b64encode(path.read_bytes()).decode()}


def wrap(result: Any, roots: list[Path]) -> dict[str, Any]:
    if is_wrapped(result):
        return dict(result)
    if not isinstance(result, str):
        return {"type": "simple", "data": result}
    parts: list[dict[str, Any]] = []
    pos = 0
    for m in _FILE.finditer(result):
        path = _inside(Path(m.group(2)), roots)
        if path is None:
            continue
        text = result[pos:m.start()].strip()
        if text:
            parts.append({"type": "simple", "data": text})
        parts.append(binary(path))
        pos = m.end()
    if not parts:
        return {"type": "simple", "data": result}
    rest = result[pos:].strip()
    if rest:
        parts.append({"type": "simple", "data": rest})
    return parts[0] if len(parts) == 1 else {"type": "composite", "data": parts}


def _inside(path: Path, roots: list[Path]) -> Path | None:
    try:
        full = path.resolve()
    except OSError:
        return None
    ok = any(full == r or r in full.parents for r in (root.resolve() for root in roots))
    return full if ok and full.is_file() and full.stat().st_size <= MAX_INLINE else None


def to_text(obj: Any, files: Path) -> str:
    """A wrapped result as the text a model reads; binary parts are written under ``files``."""
    if not is_wrapped(obj):
        return obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, default=str)
    if obj["type"] == "simple":
        data = obj["data"]
        return data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    if obj["type"] == "composite":
        return "\n".join(to_text(part, files) for part in obj["data"])
    name = Path(str(obj.get("name") or "file")).name or "file"
    folder = files / new_id()[:12]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(base64.b64decode(obj["data"]))
    return f"![{name}]({path})" if str(obj.get("media_type", "")).startswith("image/") else f"[{name}]({path})"
