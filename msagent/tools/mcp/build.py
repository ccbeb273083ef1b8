"""``mcp_tools``: the tools an agent gets for one ``{'mcpServers': {...}}`` item of its function_list."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from msagent.errors import ConfigError
from msagent.tools.base import BaseTool
from msagent.tools.mcp.toolset import MCPToolset


def mcp_tools(
    config: dict[str, Any],
    taken: Container[str] = (),
    *,
    use_tool_api: bool = False,
    tenant_id: str = "default",
    tool_api: dict[str, Any] | None = None,
) -> list[BaseTool]:
    """Start the servers of ``config`` and return their tools; names in ``taken`` are a clash.
    ``use_tool_api``: stdio servers run in tool nodes (``tool_api``: ``ToolServiceProxy`` options)."""
    toolset = MCPToolset(config, use_tool_api=use_tool_api, tenant_id=tenant_id, tool_api=tool_api)
    tools: list[BaseTool] = list(toolset.tools)
    clash = [t.name for t in tools if t.name in taken]
    if clash:
        toolset.close()
        raise ConfigError(f"MCP tool names {', '.join(clash)} clash with tools listed before them in "
                          "function_list; rename the MCP server", field="function_list")
    return tools
