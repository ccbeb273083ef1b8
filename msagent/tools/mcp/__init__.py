"""MCP client side: tools of Model Context Protocol servers as msagent tools (official ``mcp`` SDK).

``function_list=[{'mcpServers': {'files': {'command': 'python', 'args': ['server.py']},
'remote': {'url': 'http://127.0.0.1:8000/mcp', 'headers': {...}}}}]`` gives the agent the tools
``files-<tool>`` and ``remote-<tool>``; ``mcp_tools`` is what agents call for such an item.
Importing this package is cheap: the SDK (about 0.7 s to import) loads with the first tool set.
"""

from __future__ import annotations

import importlib
from typing import Any

from msagent.tools.mcp.config import MCP_KEY, MCPServerConfig, is_mcp_config, parse_mcp_config

_LAZY = {
    "MCPTool": "msagent.tools.mcp.tool",
    "tool_name": "msagent.tools.mcp.tool",
    "MCPToolset": "msagent.tools.mcp.toolset",
    "mcp_tools": "msagent.tools.mcp.build",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
