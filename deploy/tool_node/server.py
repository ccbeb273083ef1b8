"""The tool-node server: one tool instance behind ``GET /health``, ``GET /tool_info`` and
``POST /execute_tool {params, kwargs}``.

The tool comes from ``TOOL_NAME`` and ``TOOL_CFG`` (JSON) at start. A pool node starts without
them and is given its tool (and its tenant) once by ``POST /assign`` (that is what makes a warm
create fast); ``/health`` reports both, so a restarted manager can adopt a pool-born node.
Each call runs in a worker thread under the per-call timeout (``tool_cfg['timeout']``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from msagent.errors import ConfigError, ToolArgumentError, ToolError, ToolNotFoundError
from msagent.tools import BaseTool
from msagent.tools.mcp.bridge import node_tool

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0


class ExecuteRequest(BaseModel):
    params: str | dict = Field(default="", description="the arguments: a JSON (JSON5) object as text, or an object")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="extra keyword arguments for the tool")


class AssignRequest(BaseModel):
    tool_name: str = Field(min_length=1)
    tool_cfg: dict[str, Any] = Field(default_factory=dict)
    tenant_id: str | None = Field(default=None, description="whose node this becomes (reported by /health)")


class NodeError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class ToolHost:
    """Holds the one tool of this node; calls are serialised (tools need not be thread-safe)."""

    def __init__(self) -> None:
        self.tool: BaseTool | None = None
        self.tenant_id: str | None = os.environ.get("TOOL_TENANT_ID") or None
        self.timeout = DEFAULT_TIMEOUT
        self.calls = 0
        self.last_call = time.time()
        self._lock = threading.Lock()

    def assign(self, name: str, cfg: dict[str, Any], tenant_id: str | None = None) -> None:
        if self.tool is not None:
            raise NodeError(409, f"this node already serves '{self.tool.name}'")
        try:
            timeout = float(cfg.get("timeout", DEFAULT_TIMEOUT))
            if timeout <= 0:
                raise ValueError("must be positive")
        except (TypeError, ValueError) as e:
            raise NodeError(400, f"tool_cfg.timeout must be a positive number of seconds ({e})") from None
        try:
            self.tool = node_tool(name, cfg)  # a registered tool, or an MCP server ('mcp.<name>')
        except ToolNotFoundError as e:
            raise NodeError(404, e.message) from None
        except (ConfigError, ToolError, TypeError, ValueError) as e:
            raise NodeError(400, f"bad tool_cfg for '{name}': {e}") from None
        self.timeout = timeout
        self.tenant_id = tenant_id or self.tenant_id

    def require(self) -> BaseTool:
        if self.tool is None:
            raise NodeError(409, "this node has no tool yet (a pool node waiting for POST /assign)")
        return self.tool

    def run(self, params: str | dict, kwargs: dict[str, Any]) -> str:
        tool = self.require()
        with self._lock:
            self.calls += 1
            self.last_call = time.time()
            try:
                text = tool.arguments_text(params)  # tools get the arguments as JSON text
            except ToolArgumentError as e:
                raise NodeError(400, e.message) from None
            try:
                result = tool.call(text, **kwargs)
            except ToolError as e:
                raise NodeError(422, f"tool '{tool.name}' failed: {e.message}") from None
            except Exception as e:  # noqa: BLE001  (a tool bug is reported, the node keeps serving)
                log.warning("tool %r raised", tool.name, exc_info=True)
                raise NodeError(500, f"tool '{tool.name}' raised {type(e).__name__}: {e}") from None
        return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)


def create_app(tool_name: str | None = None, tool_cfg: dict[str, Any] | None = None) -> FastAPI:
    host = ToolHost()
    if tool_name:
        host.assign(tool_name, tool_cfg or {})
    app = FastAPI(title="msagent tool node", version="1")

    @app.exception_handler(NodeError)
    async def _node_error(_: Request, e: NodeError) -> JSONResponse:
        return JSONResponse({"detail": e.message}, status_code=e.status)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, e: RequestValidationError) -> JSONResponse:
        msg = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        return JSONResponse({"detail": f"invalid request: {msg}"}, status_code=400)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "tool_name": host.tool.name if host.tool else None,
            "tenant_id": host.tenant_id,
            "calls": host.calls,
            "last_call": host.last_call,
        }

    @app.post("/assign")
    async def assign(req: AssignRequest) -> dict[str, Any]:
        host.assign(req.tool_name, req.tool_cfg, req.tenant_id)
        return {"status": "ok", "tool_name": req.tool_name}

    @app.get("/tool_info")
    async def tool_info() -> dict[str, Any]:
        spec = host.require().spec
        info = spec.model_dump()
        if spec.source_parameters is not None:  # the list form as the tool wrote it (prompts show it)
            info["source_parameters"] = spec.source_parameters
        return info

    @app.post("/execute_tool")
    async def execute_tool(req: ExecuteRequest) -> dict[str, Any]:
        tool = host.require()
        try:
            output = await asyncio.wait_for(asyncio.to_thread(host.run, req.params, req.kwargs), host.timeout)
        except asyncio.TimeoutError:
            raise NodeError(504, f"tool '{tool.name}' did not finish within its timeout of {host.timeout:g} s") from None
        return {"output": output}

    return app


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    name = os.environ.get("TOOL_NAME") or None
    cfg = json.loads(os.environ.get("TOOL_CFG") or "{}")
    port = int(os.environ.get("TOOL_NODE_PORT", "31513"))
    uvicorn.run(create_app(name, cfg), host="0.0.0.0", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
