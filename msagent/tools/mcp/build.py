"""``mcp_tools``: the tools an agent gets for one ``{'mcpServers': {...}}`` item of its function_list."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from msagent.errors import ConfigError
from msagent.tools.base import BaseTool
from msagent.tools.mcp.toolset import MCPToolset


def mcp_tools(config: dict[str, Any], taken: Container[str] = ()) -> list[BaseTool]:
    """Start the servers of ``config`` and return their tools; names in ``taken`` are a clash."""
    toolset = MCPToolset(config)
    tools: list[BaseTool] = list(toolset.tools)
    clash = [t.name for t in tools if t.name in taken]
    if clash:
        toolset.close()
        raise ConfigError(f"MCP tool names {', '.join(clash)} clash with tools listed before them in "
                          "function_list; rename the MCP server", field="function_list")
    return tools
