"""The tool-node server: the tools of one node behind ``GET /health``, ``GET /tool_info``,
``GET /tools``, ``POST /execute_tool {params, kwargs, tool_name?, wrapped?}`` and the workspace
routes (``workspace_api.py``). Every request needs the node's secret (``secret.py``).

What it serves comes from ``TOOL_NAME``, ``TOOL_CFG`` (JSON) and ``TOOL_NAMES`` (a JSON list, or
``["*"]`` for every tool of the image: an XAgent session) at start. A pool node starts without
them and is given them once by ``POST /assign`` (that is what makes a warm create fast);
``/health`` reports them, so a restarted manager can adopt a pool-born node. Modules named in
``MSAGENT_TOOL_MODULES`` (a derived image's user tools) are imported first. Each call runs in a
worker thread under the per-call timeout (``tool_cfg['timeout']``).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import sys
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from deploy.tool_node.host import NodeError, ToolHost
from deploy.tool_node.secret import SECRET_ENV, RequireSecret
from deploy.tool_node.workspace_api import mount_workspace
from msagent.settings import data_dir
from msagent.tools.builtin.env_tool import env_of
from msagent.tools.builtin.workspace import workspace_root
from msagent.tools.builtin.wrapped import wrap

log = logging.getLogger(__name__)

MODULES_ENV = "MSAGENT_TOOL_MODULES"


class ExecuteRequest(BaseModel):
    params: str | dict = Field(default="", description="the arguments: a JSON (JSON5) object as text, or an object")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="extra keyword arguments for the tool")
    tool_name: str | None = Field(default=None, description="which of the node's tools (needed when it has several)")
    wrapped: bool = Field(default=False, description="answer XAgent's wrapped form {type, data} (images inlined)")


class AssignRequest(BaseModel):
    tool_name: str = Field(min_length=1)
    tool_cfg: dict[str, Any] = Field(default_factory=dict)
    tenant_id: str | None = Field(default=None, description="whose node this becomes (reported by /health)")
    tools: list[str] | None = Field(default=None, description="the tools to serve (default [tool_name]; ['*']: all)")


def _info(tool: Any) -> dict[str, Any]:
    spec = tool.spec
    info = spec.model_dump()
    if spec.source_parameters is not None:  # the list form as the tool wrote it (prompts show it)
        info["source_parameters"] = spec.source_parameters
    return info


def create_app(tool_name: str | None = None, tool_cfg: dict[str, Any] | None = None,
               tools: list[str] | None = None, secret: str | None = None) -> Any:
    """The node's ASGI app; with ``secret`` every request must carry it (``main`` always sets one)."""
    host = ToolHost()
    if tool_name:
        host.assign(tool_name, tool_cfg or {}, tools=tools)
    app = FastAPI(title="msagent tool node", version="1")
    app.state.host = host

    @app.exception_handler(NodeError)
    async def _node_error(_: Request, e: NodeError) -> JSONResponse:
        return JSONResponse({"detail": e.message, "error": e.kind}, status_code=e.status)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, e: RequestValidationError) -> JSONResponse:
        msg = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        return JSONResponse({"detail": f"invalid request: {msg}", "error": "BadRequest"}, status_code=400)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "tool_name": host.key, "tools": sorted(host.tools), "requested": host.requested,
                "tenant_id": host.tenant_id,
                "calls": host.calls, "last_call": host.last_call}

    @app.post("/assign")
    async def assign(req: AssignRequest) -> dict[str, Any]:
        host.assign(req.tool_name, req.tool_cfg, req.tenant_id, req.tools)
        return {"status": "ok", "tool_name": req.tool_name, "tools": sorted(host.tools)}

    @app.get("/tool_info")
    async def tool_info(tool_name: str | None = None) -> dict[str, Any]:
        return _info(host.pick(tool_name))

    @app.get("/tools")
    async def tools_() -> dict[str, Any]:
        """Every tool this node serves, with its schema and environment (XAgent's envs)."""
        if host.key is None:
            raise NodeError(409, "this node has no tool yet (a pool node waiting for POST /assign)")
        return {"tools": [{**_info(t), "env": env_of(type(t))} for _, t in sorted(host.tools.items())]}

    @app.post("/execute_tool")
    async def execute_tool(req: ExecuteRequest) -> dict[str, Any]:
        tool = host.pick(req.tool_name)
        try:
            result = await asyncio.wait_for(asyncio.to_thread(host.run, req.tool_name, req.params, req.kwargs),
                                            host.timeout)
        except asyncio.TimeoutError:
            raise NodeError(504, f"tool '{tool.name}' did not finish within its timeout of {host.timeout:g} s",
                            "ToolTimeoutError") from None
        if req.wrapped:
            return {"output": wrap(result, [workspace_root(), data_dir()])}
        return {"output": result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)}

    mount_workspace(app)
    return RequireSecret(app, secret) if secret else app


def import_tool_modules(names: str) -> list[str]:
    """Import the user's tool modules (their ``@register_tool`` classes register)."""
    done = []
    for name in (n.strip() for n in names.split(",")):
        if name:
            importlib.import_module(name)
            done.append(name)
    return done


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    secret = os.environ.pop(SECRET_ENV, "")  # the tools' processes (kernels, shells) do not inherit it
    if not secret:
        sys.stderr.write(f"error: {SECRET_ENV} is not set; a tool node answers only the manager that made it\n")
        raise SystemExit(2)
    import_tool_modules(os.environ.get(MODULES_ENV, ""))
    name = os.environ.get("TOOL_NAME") or None
    cfg = json.loads(os.environ.get("TOOL_CFG") or "{}")
    tools = json.loads(os.environ["TOOL_NAMES"]) if os.environ.get("TOOL_NAMES") else None
    port = int(os.environ.get("TOOL_NODE_PORT", "31513"))
    uvicorn.run(create_app(name, cfg, tools, secret), host="0.0.0.0", port=port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
