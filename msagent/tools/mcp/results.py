"""An MCP tool result as the observation text the model reads.

Text stays text; images, audio and binary resources are written under the data directory and
shown as links (``![image](path)``, as the code interpreter does); embedded text resources are
given with their URI; a result with only structured content is its JSON. ``isError`` results
raise ``ToolError`` so that ``call_tool`` shows them as an error observation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import mimetypes
from pathlib import Path
from typing import Any

from mcp import types

from msagent.errors import ToolError
from msagent.settings import data_dir

EMPTY = "(the tool returned no content)"


def observation(result: types.CallToolResult, tool_name: str) -> str:
    parts = [_block(block) for block in result.content]
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    text = "\n".join(p for p in parts if p) or ("" if result.is_error else EMPTY)
    if result.is_error:
        raise ToolError(f"tool '{tool_name}' failed: {text or 'no details given'}", tool=tool_name)
    return text


def _block(block: Any) -> str:
    if isinstance(block, types.TextContent):
        return block.text
    if isinstance(block, types.ImageContent):
        return f"![image]({save_file(block.data, block.mime_type)})"
    if isinstance(block, types.AudioContent):
        return f"[audio]({save_file(block.data, block.mime_type)})"
    if isinstance(block, types.EmbeddedResource):
        res = block.resource
        if isinstance(res, types.TextResourceContents):
            return f"[resource {res.uri}]\n{res.text}"
        return f"[resource {res.uri}]({save_file(res.blob, res.mime_type)})"
    if isinstance(block, types.ResourceLink):
        about = f" - {block.description}" if block.description else ""
        return f"[resource link {block.name}: {block.uri}]{about}"
    dump = getattr(block, "model_dump", None)
    return json.dumps(dump(mode="json") if dump else str(block), ensure_ascii=False)


def save_file(data_b64: str, mime_type: str | None) -> Path:
    """Write base64 ``data_b64`` once (named by its hash) under ``<data dir>/mcp_files``."""
    try:
        data = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ToolError(f"the MCP server sent {mime_type or 'binary'} content that is not valid base64") from e
    ext = mimetypes.guess_extension(mime_type or "") or ".bin"
    path = data_dir("mcp_files") / f"{hashlib.sha256(data).hexdigest()[:24]}{ext}"
    if not path.exists():
        path.write_bytes(data)
    return path
