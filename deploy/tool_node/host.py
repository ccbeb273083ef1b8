"""``ToolHost``: the tools one node serves — one tool (the seed's tool service), or a set (an XAgent
session: every tool of the image, ``["*"]``). Calls of one tool are serialised (tools need not be
thread-safe); different tools run side by side.

Failures are ``NodeError``s whose ``kind`` names the error class, so the manager can tell bad
arguments (400 ``ToolArgumentError``), a path outside the workspace (400 ``WorkspacePathError``),
a tool's own failure (422) and a tool bug (500) apart.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from msagent.errors import ConfigError, ToolArgumentError, ToolError, ToolNotFoundError
from msagent.tools import BaseTool, tool_names
from msagent.tools.mcp.bridge import node_tool

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
ALL_TOOLS = "*"


class NodeError(Exception):
    def __init__(self, status: int, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.message, self.kind))


class ToolHost:
    def __init__(self) -> None:
        self.key: str | None = None  # the node's name for what it serves (the manager's record key)
        self.tools: dict[str, BaseTool] = {}
        self.requested: list[str] | None = None  # the tool list as assigned (None: just the key)
        self.tenant_id: str | None = os.environ.get("TOOL_TENANT_ID") or None
        self.timeout = DEFAULT_TIMEOUT
        self.calls = 0
        self.last_call = time.time()
        self._locks: dict[int, threading.Lock] = {}

    def assign(self, name: str, cfg: dict[str, Any], tenant_id: str | None = None,
               tools: list[str] | None = None) -> None:
        """Serve ``tools`` (default: just ``name``; ``["*"]``: every registered tool) under ``name``."""
        if self.key is not None:
            raise NodeError(409, f"this node already serves '{self.key}'")
        try:
            timeout = float(cfg.get("timeout", DEFAULT_TIMEOUT))
            if timeout <= 0:
                raise ValueError("must be positive")
        except (TypeError, ValueError) as e:
            raise NodeError(400, f"tool_cfg.timeout must be a positive number of seconds ({e})") from None
        names = tool_names() if tools == [ALL_TOOLS] else list(tools or [name])
        built: dict[str, BaseTool] = {}
        try:
            for tool in names:
                built[tool] = node_tool(tool, cfg)  # a registered tool, or an MCP server ('mcp.<name>')
        except ToolNotFoundError as e:
            raise NodeError(404, e.message, "ToolNotFoundError") from None
        except (ConfigError, ToolError, TypeError, ValueError) as e:
            raise NodeError(400, f"bad tool_cfg for '{tool}': {e}", "ConfigError") from None
        finally:
            if len(built) < len(names):
                for made in built.values():
                    made.close()
        self.key, self.tools, self.timeout, self.requested = name, built, timeout, tools
        self._locks = {id(t): threading.Lock() for t in built.values()}
        self.tenant_id = tenant_id or self.tenant_id

    def pick(self, tool_name: str | None = None) -> BaseTool:
        if self.key is None:
            raise NodeError(409, "this node has no tool yet (a pool node waiting for POST /assign)")
        if tool_name is None:
            if len(self.tools) == 1:
                return next(iter(self.tools.values()))
            raise NodeError(400, f"this node serves {len(self.tools)} tools; name one in 'tool_name'",
                            "ToolArgumentError")
        tool = self.tools.get(tool_name)
        if tool is None:
            raise NodeError(404, f"unknown tool '{tool_name}'; this node serves: {', '.join(sorted(self.tools))}",
                            "ToolNotFoundError")
        return tool

    def run(self, tool_name: str | None, params: str | dict, kwargs: dict[str, Any]) -> Any:
        """The tool's result as it returned it (text, or another JSON value)."""
        tool = self.pick(tool_name)
        with self._locks[id(tool)]:
            self.calls += 1
            self.last_call = time.time()
            try:
                text = tool.arguments_text(params)  # tools get the arguments as JSON text
                return tool.call(text, **kwargs)
            except ToolArgumentError as e:  # bad arguments, or a path outside the workspace
                raise NodeError(400, e.message, type(e).__name__) from None
            except ToolError as e:
                raise NodeError(422, f"tool '{tool.name}' failed: {e.message}", type(e).__name__) from None
            except Exception as e:  # noqa: BLE001  (a tool bug is reported, the node keeps serving)
                log.warning("tool %r raised", tool.name, exc_info=True)
                raise NodeError(500, f"tool '{tool.name}' raised {type(e).__name__}: {e}", type(e).__name__) from None

    def close(self) -> None:
        for tool in self.tools.values():
            tool.close()
