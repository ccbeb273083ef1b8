"""The node's workspace over HTTP (what XAgent's ``/upload_file``, ``/download_file``,
``/get_workspace_structure`` and ``/download_workspace`` reach through the manager):

``PUT /workspace/file?path=`` (raw body), ``GET /workspace/file?path=``, ``GET /workspace/structure``,
``GET /workspace/zip``. Paths are relative to the workspace; one outside it is a 400.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response

from deploy.tool_node.host import NodeError
from msagent.errors import WorkspacePathError
from msagent.tools.builtin.workspace import relative, resolve_in, workspace_root

MAX_UPLOAD = 64 * 1024 * 1024
_MAX_ENTRIES = 5000


def _resolve(path: str) -> tuple[Path, Path]:
    root = workspace_root()
    text = path.strip()
    if text.startswith(root.name + "/"):  # XAgent names files as '<workspace folder>/<path>'
        text = text[len(root.name) + 1:]
    try:
        return root, resolve_in(root, text, "file_path")
    except WorkspacePathError as e:
        raise NodeError(400, e.message, "WorkspacePathError") from None


def tree(root: Path) -> dict[str, Any]:
    """``{name, type: directory|file, children}`` as XAgent's ``get_workspace_structure`` answers."""
    count = 0

    def walk(path: Path) -> dict[str, Any]:
        nonlocal count
        count += 1
        if path.is_symlink() or not path.is_dir() or count > _MAX_ENTRIES:  # never walk out through a link
            return {"name": path.name, "type": "file" if path.is_file() else "directory"}
        return {"name": path.name, "type": "directory", "children": [walk(p) for p in sorted(path.iterdir())]}

    return walk(root)


def mount_workspace(app: FastAPI) -> None:
    @app.put("/workspace/file")
    async def put_file(path: str, request: Request) -> dict[str, Any]:
        root, full = _resolve(path)
        if full == root or full.is_dir():
            raise NodeError(400, f"'{path}' is a folder; name a file", "WorkspacePathError")
        size = 0
        full.parent.mkdir(parents=True, exist_ok=True)
        tmp = full.with_name(f".{full.name}.upload")
        with tmp.open("wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD:
                    f.close()
                    tmp.unlink(missing_ok=True)
                    raise NodeError(413, f"the file is larger than {MAX_UPLOAD // 2**20} MB", "TooLarge")
                f.write(chunk)
        os.replace(tmp, full)
        return {"path": relative(root, full), "size": size}

    @app.get("/workspace/file")
    async def get_file(path: str) -> FileResponse:
        _, full = _resolve(path)
        if not full.is_file():
            raise NodeError(404, f"no file '{path}' in the workspace", "FileNotFound")
        return FileResponse(full, filename=full.name)

    @app.get("/workspace/structure")
    async def structure() -> dict[str, Any]:
        return tree(workspace_root())

    @app.get("/workspace/zip")
    async def zip_all() -> Response:
        root = workspace_root()
        with tempfile.SpooledTemporaryFile(max_size=32 * 2**20) as buf:
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for path in sorted(root.rglob("*")):
                    if path.is_file() and not path.is_symlink():
                        z.write(path, path.relative_to(root).as_posix())
            buf.seek(0)
            data = buf.read()
        return Response(data, media_type="application/zip",
                        headers={"content-disposition": 'attachment; filename="workspace.zip"'})
