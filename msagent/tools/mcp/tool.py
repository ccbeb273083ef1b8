"""``MCPTool``: one tool of an MCP server, as a ``BaseTool`` named ``<server>-<tool>``.

It runs through the same ``call_tool`` path as every tool: the arguments are checked against the
server's input schema first (a wrong field is an observation naming it), then sent over the
server's session; results become observation text (``results.py``), failures ``ToolError``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Protocol

from mcp import types as mcp_types

from msagent.schemas import ToolSpec
from msagent.tools.base import BaseTool
from msagent.tools.mcp.results import observation

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-.]")


class ToolCaller(Protocol):
    name: str

    def call_tool(self, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult: ...


class Owner(Protocol):
    def release(self) -> None: ...


def tool_name(server: str, tool: str) -> str:
    """``<server>-<tool>``, made to fit what model APIs accept (letters, digits, ``_-.``, <= 64)."""
    name = _UNSAFE.sub("_", f"{server}-{tool}")
    if len(name) > 64:
        name = f"{name[:55]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return name


def tool_spec(name: str, tool: mcp_types.Tool) -> ToolSpec:
    schema = dict(tool.input_schema or {})
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return ToolSpec(name=name, description=tool.description or tool.title or "", parameters=schema)


class MCPTool(BaseTool):
    concurrent_calls = True  # the session carries concurrent requests; the server orders them if it must

    def __init__(self, name: str, tool: mcp_types.Tool, server: ToolCaller, owner: Owner | None = None) -> None:
        self.__dict__["name"] = name  # per instance: '<server>-<tool>'
        super().__init__({})
        self.server = server.name
        self.remote_name = tool.name
        self._caller = server
        self._owner = owner
        self._spec = tool_spec(name, tool)
        self._closed = False

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        return observation(self._caller.call_tool(self.remote_name, args), self.name)

    def close(self) -> None:
        """The session is shared by the server's tools: it closes with the last of them."""
        if not self._closed:
            self._closed = True
            if self._owner is not None:
                self._owner.release()
