"""The tool manager's FastAPI app: the seed's endpoints and envelope ``{request_id, message, output}``,
bearer-token auth, tenant-scoped records. OpenAPI at ``/docs``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException

from deploy import openapi_errors
from deploy.tool_manager import catalog
from deploy.tool_manager.auth import TokenAuth
from deploy.tool_manager.config import ManagerConfig
from deploy.tool_manager.errors import ManagerError
from deploy.tool_manager.manager import ToolManager
from deploy.tool_manager.models import (
    CreateRequest,
    Envelope,
    ExecuteRequest,
    NodeRequest,
    ResultRequest,
    RetrieveRequest,
    SchemaRequest,
    StatusRequest,
)
from deploy.tool_manager.store import NodeRecord
from msagent.errors import ConfigError
from msagent.schemas import new_id

log = logging.getLogger(__name__)

AUTH = {401: "no token, or not the Bearer scheme", 403: "wrong token"}
BAD = {400: "invalid request (the message names the field)"}
NODE = {404: "no such tool service for this tenant"}
CALL = {202: "still running: fetch the result from output.next_calling with output.call_id",
        409: "the node is not running", 422: "the tool reported a failure", 500: "the tool raised",
        502: "the container died mid-call", 504: "the call passed its timeout"}
# what any route may answer (a wrong method, an unexpected failure)
COMMON = {405: "method not allowed for this path", 500: "internal error"}


def documented(*groups: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    merged: dict[int, str] = {200: "the envelope {request_id, message, output}"}
    for group in groups:
        merged.update(group)
    return openapi_errors.responses(Envelope, merged)


def _envelope(output: Any = None, message: str = "", status: int = 200) -> JSONResponse:
    return JSONResponse({"request_id": new_id(), "message": message, "output": output}, status_code=status)


def _node(rec: NodeRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"tool_node_name": rec.name, "status": rec.status}
    if rec.message:
        out["message"] = rec.message
    return out


def _errors(e: ValidationError | RequestValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc'] if p != 'body') or 'body'}: {err['msg']}"
                     for err in e.errors())


def create_app(config: ManagerConfig | None = None, manager: ToolManager | None = None) -> FastAPI:
    """The app; refuses a config without a token unless it says ``no_auth`` (secure by default)."""
    manager = manager or ToolManager(config or ManagerConfig.from_env())
    cfg = manager.config
    if not cfg.token and not cfg.no_auth:
        raise ConfigError("the tool manager needs a token: token=... (--token, TOOL_MANAGER_TOKEN), or no_auth=True "
                          "(--no-auth) to run it open on a loopback address")
    if cfg.token and cfg.no_auth:
        raise ConfigError("give either a token or no_auth, not both")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        # the service stops: its warm-pool containers go (tenants' nodes stay, a restart adopts them)
        await manager.close()

    app = FastAPI(lifespan=lifespan, title="msagent tool manager", version="1",
                  description="Create, inspect, call and remove tool nodes (one hardened container each) per tenant. "
                  "Every endpoint but /health and /docs needs 'Authorization: Bearer <token>'.")
    app.state.manager = manager
    # one check for every router on this app (the seed's endpoints, XAgent's, /mcp)
    auth = app.state.auth = TokenAuth(None if cfg.no_auth else cfg.token)

    async def ready(request: Request) -> ToolManager:
        await auth(request)
        await manager.start()
        return manager

    app.state.ready = ready

    @app.exception_handler(ManagerError)
    async def _manager_error(_: Request, e: ManagerError) -> JSONResponse:
        response = _envelope(e.output, e.message, e.status)
        response.headers.update(e.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, e: RequestValidationError) -> JSONResponse:
        return _envelope(None, f"invalid request: {_errors(e)}", 400)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, e: HTTPException) -> JSONResponse:
        # unknown paths and wrong methods answer in the envelope too
        what = "no such endpoint" if e.status_code == 404 else str(e.detail)
        response = _envelope(None, f"{what}: {request.method} {request.url.path}; see /docs", e.status_code)
        response.headers.update(e.headers or {})
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _envelope(None, f"internal error: {type(e).__name__}: {e}", 500)

    def route(method: str, path: str, *errors: dict[int, str]) -> Callable[[Callable], Callable]:
        def deco(fn: Callable) -> Callable:
            app.add_api_route(path, fn, methods=[method], responses=documented(AUTH, BAD, *errors))
            app.add_api_route(path + "/", fn, methods=[method], include_in_schema=False)
            return fn
        return deco

    def from_query(request: Request, model: type[BaseModel], body: Any) -> Any:
        if body is not None:
            return body
        try:
            return model.model_validate(dict(request.query_params))
        except ValidationError as e:
            raise ManagerError(400, f"invalid request: {_errors(e)}") from None

    @app.get("/health", responses=documented())
    async def health() -> JSONResponse:
        return _envelope({"status": "ok"})

    @route("POST", "/create_tool_service", {
        404: "unknown tool or image", 409: "the node name is taken by another tenant's tool",
        503: "Docker is down or no port is free"})
    async def create_tool_service(req: CreateRequest, m: ToolManager = Depends(ready)) -> JSONResponse:
        """Start a node for (tool_name, tenant_id); answers 'pending' (cold) or 'running' (warm pool)."""
        return _envelope(_node(await m.create(req.tenant_id, req.tool_name, req.tool_cfg, req.tool_image)))

    async def check_status(request: Request, body: StatusRequest | None = Body(None),
                           m: ToolManager = Depends(ready)) -> JSONResponse:
        """Status of a node: pending | running | exited | failed (``wait`` long-polls while pending)."""
        req = from_query(request, StatusRequest, body)
        return _envelope(_node(await m.status(req.tenant_id, req.tool_name, req.wait)))

    for method in ("POST", "GET"):
        route(method, "/check_tool_service_status", NODE)(check_status)

    @route("POST", "/remove_tool", NODE)
    async def remove_tool(request: Request, body: NodeRequest | None = Body(None),
                          m: ToolManager = Depends(ready)) -> JSONResponse:
        """Stop and remove a node (body or query parameters)."""
        req = from_query(request, NodeRequest, body)
        return _envelope(_node(await m.remove(req.tenant_id, req.tool_name)))

    @route("GET", "/tools")
    async def tools(tenant_id: str = "default", m: ToolManager = Depends(ready)) -> JSONResponse:
        """The tenant's nodes and their statuses."""
        return _envelope({"tools": m.list(tenant_id)})

    @route("POST", "/tool_info", NODE, CALL)
    async def tool_info(req: NodeRequest, m: ToolManager = Depends(ready)) -> JSONResponse:
        """The tool's name, description and JSON-schema parameters, asked from its node."""
        return _envelope(await m.info(req.tenant_id, req.tool_name))

    @route("POST", "/execute_tool", NODE, CALL)
    async def execute_tool(req: ExecuteRequest, m: ToolManager = Depends(ready)) -> JSONResponse:
        """Run the tool; with ``wait`` a slow call answers 202 {type: retry, call_id, next_calling}."""
        return _envelope(await m.execute(req.tenant_id, req.tool_name, req.params, req.kwargs, req.wait,
                                          wrapped=req.wrapped))

    @route("POST", "/execute_tool_result", {404: "no such call"}, CALL)
    async def execute_tool_result(req: ResultRequest, m: ToolManager = Depends(ready)) -> JSONResponse:
        """The result of a call that answered 202; 202 again while it still runs."""
        return _envelope(await m.result(req.tenant_id, req.call_id, req.wait))

    @route("GET", "/get_available_tools")
    async def available_tools(_: ToolManager = Depends(ready)) -> JSONResponse:
        """Every tool the default image serves, with its JSON schema."""
        names = catalog.tool_names()
        return _envelope({"available_tools": names, "tools_json": catalog.schemas(names)[0]})

    @route("POST", "/get_json_schema_for_tools")
    async def json_schema_for_tools(req: SchemaRequest, _: ToolManager = Depends(ready)) -> JSONResponse:
        found, missing = catalog.schemas(req.tool_names)
        return _envelope({"tools_json": found, "missing_tools": missing})

    @route("POST", "/retrieving_tools")
    async def retrieving_tools(req: RetrieveRequest, _: ToolManager = Depends(ready)) -> JSONResponse:
        """The top-k tools for a question (BM25 over names and descriptions)."""
        found = catalog.retrieve(req.question, req.top_k)
        return _envelope({"retrieved_tools": [t["name"] for t in found], "tools_json": found})

    from deploy.tool_manager.mcp_endpoint import mount_mcp  # /mcp: the same tools for MCP clients

    mount_mcp(app, manager, ready)
    from deploy.tool_manager.xagent import mount_xagent  # XAgent's ToolServer protocol (sessions)

    mount_xagent(app, manager)
    openapi_errors.install(app, Envelope, COMMON)
    return app
