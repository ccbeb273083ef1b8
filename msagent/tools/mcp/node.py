"""MCP servers in tool nodes, the agent's side: ``NodeConnection`` reaches a stdio server that runs
in a hardened tool node (``use_tool_api=True``), through the tool manager and ``ToolServiceProxy``.

The node answers with the MCP ``CallToolResult`` as JSON; it becomes observation text here, so
images land in this machine's data directory, not in the container's.
"""

from __future__ import annotations

import json
from typing import Any

from mcp import types as mcp_types

from msagent.errors import MCPServerError, MsagentError, ToolError
from msagent.tools.mcp.bridge import node_tool_name
from msagent.tools.mcp.config import MCPServerConfig

NODE_SERVER_KEYS = ("command", "args", "env", "cwd")


class NodeConnection:
    def __init__(self, name: str, config: MCPServerConfig, tenant_id: str, tool_api: dict[str, Any]) -> None:
        self.name = name
        self.config = config
        self.tenant_id = tenant_id
        self.tool_api = dict(tool_api)
        self.proxy: Any = None

    def tool_cfg(self) -> dict[str, Any]:
        server = self.config.model_dump(include=set(NODE_SERVER_KEYS), exclude_none=True)
        # the node's own limit sits a little above the session's, so the session's clearer error wins
        return {**self.config.node, "mcp": server, "timeout": self.config.timeout + 5}

    def open(self) -> list[mcp_types.Tool]:
        from msagent.tools.service_proxy import ToolServiceProxy

        where = f"MCP server '{self.name}' ({self.config.describe()}) in a tool node"
        try:
            self.proxy = ToolServiceProxy(node_tool_name(self.name), self.tool_cfg(), tenant_id=self.tenant_id,
                                          **self.tool_api)
            return self.list_tools()
        except MsagentError as e:
            self.close()
            raise MCPServerError(f"{where} could not be started: {e.message}", server=self.name) from e

    def list_tools(self) -> list[mcp_types.Tool]:
        text = self.proxy.call(json.dumps({"list_tools": True}))
        return [mcp_types.Tool.model_validate(t) for t in json.loads(text)]

    def call_tool(self, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        text = self.proxy.call(json.dumps({"tool": tool, "arguments": arguments}))
        try:
            return mcp_types.CallToolResult.model_validate_json(text)
        except ValueError as e:
            raise ToolError(f"MCP server '{self.name}': the tool node answered something that is not an MCP "
                            f"result: {text[:200]}") from e

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
            self.proxy = None
