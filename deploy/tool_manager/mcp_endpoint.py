"""The tool manager as an MCP server: ``/mcp``, streamable HTTP (official ``mcp`` SDK), same token.

``tools/list`` gives the tenant's tools with their JSON schemas: every tool the default image
serves (built-ins, XAgent env tools, users' registered tools), the tenant's running nodes of other
images, and the tools of the tenant's MCP servers in nodes (as ``<server>-<tool>``, their results
passed through unchanged). ``tools/call`` runs the tool in the tenant's node, creating the node (and waiting for it)
when there is none. The tenant comes from the ``X-Tenant-Id`` header or ``?tenant_id=`` in the URL
(default ``default``), so any MCP client (an IDE, another agent framework) can be pointed at
``http://host:31511/mcp?tenant_id=alice`` with ``Authorization: Bearer <token>``.

Stateless JSON mode: each request stands alone, so it works behind Serve's proxy and after a
replica restart; the SDK's session manager starts with the first request on the serving loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.types import (
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
)
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from deploy.tool_manager import catalog
from deploy.tool_manager.config import NAME_PATTERN
from deploy.tool_manager.errors import ManagerError
from deploy.tool_manager.manager import ToolManager
from msagent.schemas import new_id
from msagent.tools.mcp.bridge import NODE_PREFIX, is_mcp_node
from msagent.tools.mcp.tool import tool_name

log = logging.getLogger(__name__)

PATH = "/mcp"
TENANT_HEADER = "x-tenant-id"
Authorize = Callable[[Request], Awaitable[Any]]


class MCPEndpoint:
    """An ASGI app: checks the token and the tenant, then hands the request to the SDK."""

    def __init__(self, manager: ToolManager, authorize: Authorize) -> None:
        self.manager = manager
        self.authorize = authorize
        self.server: Server[Any] = Server(
            "msagent-tool-manager",
            instructions="msagent's sandboxed tools: each call runs in the tenant's hardened tool node.",
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
        )
        self.sessions = StreamableHTTPSessionManager(self.server, stateless=True, json_response=True)
        self._ready: asyncio.Future[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            await self.authorize(request)
            _tenant(request)
        except ManagerError as e:
            response = JSONResponse({"request_id": new_id(), "message": e.message, "output": e.output},
                                    status_code=e.status)
            await response(scope, receive, send)
            return
        await self._running()
        await self.sessions.handle_request(scope, receive, send)

    async def _running(self) -> None:
        """Start the SDK's session manager once, on this loop, for the app's lifetime."""
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
            self.manager.spawn(self._serve(self._ready))
        await asyncio.shield(self._ready)

    async def _serve(self, ready: asyncio.Future[None]) -> None:
        try:
            async with self.sessions.run():
                ready.set_result(None)
                await asyncio.Event().wait()  # until the manager closes (its tasks are cancelled)
        except BaseException as e:
            if not ready.done():
                ready.set_exception(RuntimeError(f"the MCP session manager did not start: {e!r}"))
            raise

    # --- MCP handlers ----------------------------------------------------------------------------
    async def _list_tools(self, ctx: Any, params: PaginatedRequestParams | None) -> ListToolsResult:
        tenant = _tenant(ctx.request)
        specs = {s["name"]: s for s in catalog.schemas(catalog.tool_names())[0]}
        tools = [Tool(name=name, description=s.get("description") or "",
                      input_schema=s.get("parameters") or {"type": "object", "properties": {}})
                 for name, s in specs.items()]
        running = [r for r in self.manager.store.all(tenant)  # (an XAgent session's node serves a set: not here)
                   if r.tool_name not in specs and r.status == "running" and r.tools is None]
        found = await asyncio.gather(*(self._node_tools(tenant, r.tool_name) for r in running), return_exceptions=True)
        for rec, more in zip(running, found, strict=True):
            if isinstance(more, BaseException):
                log.warning("tools/list: tool service %s gave no tools: %s", rec.name, more)
            else:
                tools += [tool for tool, _ in more]
        return ListToolsResult(tools=sorted(tools, key=lambda t: t.name))

    async def _node_tools(self, tenant: str, tool: str) -> list[tuple[Tool, str]]:
        """A node's tools and their names in the node: its one tool, or for an MCP server's node
        the server's tools, named '<server>-<tool>' here."""
        if not is_mcp_node(tool):
            info = await self.manager.info(tenant, tool)
            return [(Tool(name=tool, description=info.get("description") or "",
                          input_schema=info.get("parameters") or {"type": "object", "properties": {}}), tool)]
        listed = json.loads(await self.manager.execute(tenant, tool, {"list_tools": True}, {}))
        server = tool[len(NODE_PREFIX):]
        return [(Tool.model_validate({**t, "name": tool_name(server, t["name"])}), t["name"]) for t in listed]

    async def _call_tool(self, ctx: Any, params: CallToolRequestParams) -> CallToolResult:
        tenant = _tenant(ctx.request)
        arguments = dict(params.arguments or {})
        try:
            target = await self._mcp_target(tenant, params.name)
            if target is not None:  # a tool of an MCP server in a node: its result passes through as it is
                node, remote = target
                out = await self.manager.execute(tenant, node, {"tool": remote, "arguments": arguments}, {})
                return CallToolResult.model_validate_json(out)
            await self._node(tenant, params.name)
            out = await self.manager.execute(tenant, params.name, arguments, {})
        except ManagerError as e:
            return CallToolResult(content=[TextContent(type="text", text=e.message)], is_error=True)
        text = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False, default=str)
        return CallToolResult(content=[TextContent(type="text", text=text)])

    async def _mcp_target(self, tenant: str, name: str) -> tuple[str, str] | None:
        """(node tool, MCP tool) when ``name`` is '<server>-<tool>' of the tenant's running MCP node."""
        for rec in self.manager.store.all(tenant):
            server = rec.tool_name[len(NODE_PREFIX):]
            if is_mcp_node(rec.tool_name) and rec.status == "running" and name.startswith(server + "-"):
                for tool, remote in await self._node_tools(tenant, rec.tool_name):
                    if tool.name == name:
                        return rec.tool_name, remote
        return None

    async def _node(self, tenant: str, tool: str) -> None:
        """The tenant's running node of ``tool``: created (again, if it ended) and waited for."""
        m = self.manager
        rec = m.store.get(tenant, tool)
        if rec is None or rec.status in ("exited", "failed"):
            if rec is None and tool not in catalog.tool_names():
                raise ManagerError(404, f"unknown tool '{tool}' for tenant '{tenant}'; tools/list shows the tools")
            rec = await m.create(tenant, tool, rec.tool_cfg if rec else {}, rec.image if rec else None)
        if rec.status == "pending":
            rec = await m.status(tenant, tool, wait=m.config.start_timeout)
        if rec.status != "running":
            hint = f": {rec.message}" if rec.message else ""
            raise ManagerError(503, f"tool service '{rec.name}' is {rec.status}{hint}")


def _tenant(request: Request | None) -> str:
    if request is None:
        return "default"
    tenant = request.headers.get(TENANT_HEADER) or request.query_params.get("tenant_id") or "default"
    if not re.match(NAME_PATTERN, tenant):
        raise ManagerError(400, f"invalid tenant {tenant!r} (X-Tenant-Id or ?tenant_id=): use letters, digits, "
                                "'_', '-' or '.', starting with a letter or digit")
    return tenant


def mount_mcp(app: FastAPI, manager: ToolManager, authorize: Authorize) -> MCPEndpoint:
    """Serve ``/mcp`` on the manager's app (``authorize``: the app's token check)."""
    endpoint = MCPEndpoint(manager, authorize)
    for path in (PATH, PATH + "/"):
        app.router.routes.append(Route(path, endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False))
    return endpoint
