"""Uploaded documents per uuid: files under ``<root>/<uuid>/`` plus their passages in the index."""

from __future__ import annotations

import re
import time
from pathlib import Path

from msagent.knowledge.errors import FileTooLargeError, InvalidFileError, KnowledgeNotFoundError
from msagent.knowledge.extract import SUPPORTED, UnsupportedFileTypeError, extract_text, passages, suffix
from msagent.knowledge.index import KnowledgeIndex, Passage

_UUID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_BAD_NAME = re.compile(r"[/\\\x00-\x1f]")


def check_uuid(uuid: str) -> str:
    if not _UUID.match(uuid or ""):
        raise InvalidFileError(f"uuid_str {uuid!r} must be 1-64 letters, digits, '_' or '-'", field="uuid_str")
    return uuid


def check_name(name: str) -> str:
    """A bare file name: no directories, no '..', not hidden, a supported type."""
    if not name or _BAD_NAME.search(name) or name in (".", "..") or name.startswith(".") or len(name) > 200:
        raise InvalidFileError(
            f"file name {name!r} is not allowed: use a plain name without path parts (no '/', '\\\\', '..')",
            field="files",
        )
    if suffix(name) not in SUPPORTED:
        raise UnsupportedFileTypeError(
            f"{name}: unsupported file type; upload one of {', '.join(SUPPORTED)}", field="files"
        )
    return name


def format_passages(found: list[Passage]) -> str:
    """Passages as the text an agent is given as knowledge."""
    return "\n\n".join(f"[{p.name}#{p.seq}]\n{p.text}" for p in found)


class KnowledgeStore:
    def __init__(self, root: Path, *, max_bytes: int = 20 * 1024 * 1024) -> None:
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)
        self.index = KnowledgeIndex(root / "index.sqlite3")

    def _dir(self, uuid: str) -> Path:
        return self.root / check_uuid(uuid)

    def add(self, uuid: str, name: str, data: bytes) -> dict:
        """Store and index one document (replacing one of the same name)."""
        check_name(name)
        if len(data) > self.max_bytes:
            raise FileTooLargeError(f"{name}: {len(data)} bytes is over the {self.max_bytes}-byte limit", field="files")
        pieces = passages(extract_text(name, data))
        folder = self._dir(uuid)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        added = time.time()
        self.index.add(uuid, name, len(data), pieces, added)
        return {"name": name, "size": len(data), "passages": len(pieces), "added": added}

    def files(self, uuid: str) -> list[dict]:
        return self.index.files(check_uuid(uuid))

    def delete(self, uuid: str, name: str | None = None) -> list[str]:
        """Delete one file, or all of the uuid's files; returns the names removed."""
        folder = self._dir(uuid)
        names = [f["name"] for f in self.index.files(uuid)]
        if name is not None:
            check_name(name)
            if name not in names:
                raise KnowledgeNotFoundError(f"no file {name!r} uploaded for uuid {uuid!r}", field="files")
            names = [name]
        for n in names:
            self.index.remove(uuid, n)
            (folder / n).unlink(missing_ok=True)
        return names

    def search(
        self, uuid: str, query: str, *, files: list[str] | None = None, budget: int = 2000, limit: int = 20
    ) -> list[Passage]:
        """The best passages for ``query`` whose text fits in ``budget`` characters together."""
        found = self.index.search(check_uuid(uuid), query, files=files or None, limit=limit)
        out: list[Passage] = []
        used = 0
        for p in found:
            if used + len(p.text) > budget:
                if not out and budget > 0:  # always give the best one, cut to size
                    out.append(p.model_copy(update={"text": p.text[:budget]}))
                    used = budget
                continue
            out.append(p)
            used += len(p.text)
        return out
