"""``MCPToolset``: the servers of one ``{'mcpServers': {...}}`` config, started for one agent.

It starts every server (in parallel), lists their tools and builds one ``MCPTool`` per tool. The
sessions run on a loop thread the tool set owns; they are reused across turns and closed when the
last tool is closed (``Agent.close``), when the tool set is collected, or at interpreter exit.
With ``use_tool_api=True`` stdio servers run in hardened tool nodes instead (``node.py``); URL
servers are reached directly either way.
"""

from __future__ import annotations

import logging
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mcp import types as mcp_types

from msagent.errors import ConfigError, MCPServerError
from msagent.tools.mcp.config import MCPServerConfig, parse_mcp_config
from msagent.tools.mcp.connection import MCPConnection
from msagent.tools.mcp.loop import LoopThread
from msagent.tools.mcp.node import NodeConnection
from msagent.tools.mcp.tool import MCPTool, tool_name

log = logging.getLogger(__name__)


class MCPToolset:
    def __init__(
        self,
        config: dict[str, Any],
        *,
        use_tool_api: bool = False,
        tenant_id: str = "default",
        tool_api: dict[str, Any] | None = None,
    ) -> None:
        self.servers: dict[str, MCPServerConfig] = parse_mcp_config(config)
        self.use_tool_api = use_tool_api
        self.tenant_id = tenant_id
        self.tool_api = dict(tool_api or {})
        self._loop = LoopThread()
        self.connections: dict[str, MCPConnection | NodeConnection] = {}
        self.tools: list[MCPTool] = []
        self.listed: dict[str, list[mcp_types.Tool]] = {}
        self._open_tools = 0
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _shutdown, self._loop, self.connections)
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        if not self.tools:
            self.close()  # nothing offered: keep no servers running

    def _start(self) -> None:
        if not self.servers:
            return
        self._loop.start()
        for name, cfg in self.servers.items():
            if self.use_tool_api and cfg.command is not None:
                self.connections[name] = NodeConnection(name, cfg, self.tenant_id, self.tool_api)
            else:
                self.connections[name] = MCPConnection(name, cfg, self._loop)
        with ThreadPoolExecutor(max_workers=len(self.connections), thread_name_prefix="mcp-open") as pool:
            futures = {name: pool.submit(conn.open) for name, conn in self.connections.items()}
        failed = []
        for name, future in futures.items():
            error = future.exception()
            if error is None:
                self.listed[name] = future.result()
            else:
                failed.append(error)
        if failed:
            first = failed[0]
            if len(failed) == 1 and isinstance(first, MCPServerError):
                raise first
            raise MCPServerError("; ".join(str(e) for e in failed),
                                 server=[getattr(e, "details", {}).get("server") for e in failed])
        owner: dict[str, str] = {}  # tool name -> server
        for server, tools in self.listed.items():
            for tool in tools:
                name = tool_name(server, tool.name)
                if name in owner:
                    other = owner[name]
                    where = (f"MCP server '{server}' has two tools that both become" if other == server
                             else f"MCP servers '{other}' and '{server}' both offer a tool named")
                    raise ConfigError(f"{where} '{name}'; rename one of the servers in mcpServers",
                                      field=f"mcpServers.{server}")
                owner[name] = server
                self.tools.append(MCPTool(name, tool, self.connections[server], owner=self))
        self._open_tools = len(self.tools)

    def release(self) -> None:
        """One tool was closed; the last one closes the sessions."""
        with self._lock:
            self._open_tools -= 1
            last = self._open_tools <= 0
        if last:
            self.close()

    def close(self) -> None:
        """Stop every server of this config and the loop thread. Safe to call twice."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive


def _shutdown(loop: LoopThread, connections: dict[str, MCPConnection | NodeConnection]) -> None:
    for conn in connections.values():
        conn.close()
    loop.stop()
