"""MCP client side: tools of Model Context Protocol servers as msagent tools (official ``mcp`` SDK).

``function_list=[{'mcpServers': {'files': {'command': 'python', 'args': ['server.py']},
'remote': {'url': 'http://127.0.0.1:8000/mcp', 'headers': {...}}}}]`` gives the agent the tools
``files-<tool>`` and ``remote-<tool>``; ``mcp_tools`` is what agents call for such an item.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from msagent.errors import ConfigError
from msagent.tools.base import BaseTool
from msagent.tools.mcp.config import MCP_KEY, MCPServerConfig, is_mcp_config, parse_mcp_config
from msagent.tools.mcp.tool import MCPTool, tool_name
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


__all__ = [
    "MCP_KEY",
    "MCPServerConfig",
    "MCPTool",
    "MCPToolset",
    "is_mcp_config",
    "mcp_tools",
    "parse_mcp_config",
    "tool_name",
]
