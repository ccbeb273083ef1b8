"""MCP servers in tool nodes, the node's side: ``MCPNodeTool`` runs one stdio MCP server in the
node's hardened container and answers ``{'list_tools': true}`` and ``{'tool', 'arguments'}``.

A node's tool is named ``mcp.<server>`` and gets ``tool_cfg = {'mcp': {command, args, env, cwd},
...limits}``; ``node_tool`` is what the node server and the manager build tools with, so such
names need no registered class. Importing this module does not import the MCP SDK.
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar

from msagent.errors import ConfigError, MCPServerError, ToolArgumentError, ToolError
from msagent.tools.base import BaseTool
from msagent.tools.mcp.config import MCPServerConfig, parse_mcp_config
from msagent.tools.registry import get_tool

NODE_PREFIX = "mcp."


def node_tool_name(server: str) -> str:
    return NODE_PREFIX + server


def is_mcp_node(tool_name: str) -> bool:
    return tool_name.startswith(NODE_PREFIX) and len(tool_name) > len(NODE_PREFIX)


def node_tool(name: str, cfg: dict[str, Any] | None = None) -> BaseTool:
    """The tool a node serves for ``name``: the MCP bridge for ``mcp.<server>``, else the registered tool."""
    return MCPNodeTool(name, cfg or {}) if is_mcp_node(name) else get_tool(name, cfg)


class MCPNodeTool(BaseTool):
    name: ClassVar[str] = "mcp_node"
    description: ClassVar[str] = (
        "An MCP server (stdio) running in this node: send {'list_tools': true} for its tools, or "
        "{'tool': <name>, 'arguments': {...}} to call one (the answer is the MCP CallToolResult as JSON)."
    )
    parameters: ClassVar[list[dict] | dict] = {
        "type": "object",
        "properties": {"list_tools": {"type": "boolean"}, "tool": {"type": "string"}, "arguments": {"type": "object"}},
    }

    def __init__(self, tool_name: str, cfg: dict[str, Any]) -> None:
        if not is_mcp_node(tool_name):
            raise ConfigError(f"an MCP node's tool is named '{NODE_PREFIX}<server>', not {tool_name!r}")
        self.__dict__["name"] = tool_name
        super().__init__(cfg)
        self.server = tool_name[len(NODE_PREFIX):]
        self.config = server_config(self.server, cfg.get("mcp"))
        self._lock = threading.Lock()
        self._conn: Any = None
        self._loop: Any = None

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        conn = self._connection()
        if args.get("list_tools"):
            return json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in conn.list_tools()])
        if not isinstance(args.get("tool"), str):
            raise ToolArgumentError(f"tool '{self.name}' takes {{'tool': <name>, 'arguments': {{...}}}} or "
                                    "{'list_tools': true}")
        result = conn.call_tool(args["tool"], dict(args.get("arguments") or {}))
        return str(result.model_dump_json(by_alias=True, exclude_none=True))

    def _connection(self) -> Any:
        """The server's session, started on first use (the node's first call)."""
        with self._lock:
            if self._conn is None:
                from msagent.tools.mcp.connection import MCPConnection
                from msagent.tools.mcp.loop import LoopThread

                loop = LoopThread(f"mcp-{self.server}")
                loop.start()
                conn = MCPConnection(self.server, self.config, loop)
                try:
                    conn.open()
                except MCPServerError as e:
                    loop.stop()
                    raise ToolError(e.message) from None
                self._loop, self._conn = loop, conn
            return self._conn

    def close(self) -> None:
        with self._lock:
            conn, loop, self._conn, self._loop = self._conn, self._loop, None, None
        if conn is not None:
            conn.close()
            loop.stop()


def server_config(server: str, raw: Any) -> MCPServerConfig:
    """The config of a server to run in a node: a stdio server (``command``), validated."""
    config = parse_mcp_config({"mcpServers": {server: raw}}).get(server)
    if config is None:
        raise ConfigError(f"MCP server '{server}' is disabled", field=f"mcpServers.{server}")
    if config.command is None:
        raise ConfigError(f"MCP server '{server}': a tool node runs stdio servers ('command'); a 'url' server "
                          "runs elsewhere already and is reached directly", field=f"mcpServers.{server}")
    return config
