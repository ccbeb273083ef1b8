"""XAgent's ToolServer protocol on the tool manager (same port, same token, same ``ToolManager``),
so XAgent's own client works unchanged: mounted under ``/xagent`` and reached at the root paths
XAgent calls (``xagent_paths.py`` dispatches them).

Answers are XAgent's, not the envelope: bare JSON bodies, errors as ``{"detail": ...}``, tool results
wrapped ``{type: simple|composite|binary, data}``. ``/execute_tool`` statuses as XAgent's client
reads them: 200 result, 400 a path outside the workspace, 401 no or unknown session cookie, 404
unknown tool, 422 arguments not matching the tool's schema, **450** still running after
``call_wait`` seconds (``detail.next_calling`` / ``detail.arguments`` fetch the rest), 500 the tool
failed, 503 the node or Docker is down.

The token: ``Authorization: Bearer <token>``, or HTTP Basic with the token as password, which is
what XAgent's unchanged client sends for a URL like ``http://xagent:<token>@127.0.0.1:31511``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from deploy import openapi_errors
from deploy.tool_manager import catalog
from deploy.tool_manager.config import NAME_PATTERN
from deploy.tool_manager.errors import ManagerError
from deploy.tool_manager.manager import NodeCallError, ToolManager
from deploy.tool_manager.xagent_paths import XAgentPaths
from deploy.tool_manager.xagent_sessions import COOKIE, XAgentSessions
from deploy.tool_node.workspace_api import MAX_UPLOAD

log = logging.getLogger(__name__)

PREFIX = "/xagent"
RESULT_TOOL = "read_call_result"  # the 450 answer's next_calling
RESULT_SPEC = {"name": RESULT_TOOL, "description": "Fetch the result of a call that answered 450 (still running): "
               "send the call_id that answer gave; answers 450 again while it still runs.",
               "parameters": {"type": "object", "required": ["call_id"],
                              "properties": {"call_id": {"type": "string"}}}}
Handler = Callable[[Request], Awaitable[Any]]
# the statuses each route answers, for /docs (bodies are XAgent's {"detail": ...})
COMMON = {401: "no token, or no / an unknown / a closed session cookie (POST /get_cookie)", 403: "wrong token",
          422: "invalid request body (the message names the field)",
          503: "the session's node or Docker is down"}
NO_IMAGE = {404: "the manager's tool image is not built (`msagent build-image`)"}
OPEN = {400: "a tool_cfg the node's container cannot take (the message names the field)", **NO_IMAGE}
EXECUTE = {200: "the result, wrapped: {type: simple|composite|binary, data, ...}",
           400: "a path outside the workspace", 404: "unknown tool", 413: "an argument too large for the node",
           422: "arguments not matching the tool's schema",
           450: "still running: call detail.next_calling with detail.arguments for the rest",
           500: "the tool failed, raised, or passed the node's timeout"}
UPLOAD = {400: "a path outside the workspace, or a folder", 413: "a file over 64 MB"}
DOWNLOAD = {200: "the file's bytes (its own media type)", 400: "a path outside the workspace", 404: "no such file in the workspace"}
ZIP = {200: "the workspace as a zip file"}


class XAgentError(BaseModel):
    detail: Any = Field(description="what went wrong (for 450: {type: retry, next_calling, arguments})")


class CookieRequest(BaseModel, extra="forbid"):
    tenant_id: str = Field(default="default", pattern=NAME_PATTERN)
    tool_cfg: dict[str, Any] = Field(default_factory=dict, description="merged over the sessions' tool_cfg")


class ExecuteRequest(BaseModel, extra="forbid"):
    tool_name: str = Field(min_length=1, max_length=200)
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    env_name: str | None = None


class NamesRequest(BaseModel):
    tool_names: list[str] = Field(default_factory=list, max_length=500)
    env_names: list[str] = Field(default_factory=list, max_length=100)


class RetrieveRequest(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    top_k: int = Field(default=5, ge=1, le=100)


class FileRequest(BaseModel, extra="forbid"):
    file_path: str = Field(min_length=1, max_length=4096)
    file_type: str | None = None  # XAgent's node takes it and serves the file's own type anyway


def _detail(status: int, detail: Any) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
        return model.model_validate(data)
    except (ValueError, ValidationError) as e:
        what = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'body'}: {err['msg']}" for err in e.errors()) \
            if isinstance(e, ValidationError) else f"not JSON ({e})"
        raise ManagerError(422, f"invalid request: {what}") from None


def _call_status(e: ManagerError) -> int:
    """A manager or node failure as the status XAgent's client reads."""
    if isinstance(e, NodeCallError):
        if e.kind == "WorkspacePathError":
            return 400
        return {400: 422, 404: 404, 413: 413, 422: 500, 500: 500, 504: 500}.get(e.status, 500)
    return {401: 401, 403: 403, 404: 404, 409: 503, 502: 503, 503: 503, 504: 500}.get(e.status, e.status)


def mount_xagent(app: FastAPI, manager: ToolManager) -> XAgentSessions:
    sessions = XAgentSessions(manager)
    router = APIRouter(tags=["XAgent ToolServer"])
    token = manager.config.token

    async def authorized(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if token and scheme.lower() == "basic":  # XAgent's client: the token as the URL's password
            try:
                password = base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                raise ManagerError(401, "malformed Basic credentials") from None
            if not hmac.compare_digest(password.encode(), token.encode()):
                raise ManagerError(403, "wrong token")
        else:
            await app.state.auth(request)
        await manager.start()

    def endpoint(*paths: str, methods: tuple[str, ...] = ("POST",), docs: dict[int, str] | None = None,
                 media_type: str | None = None) -> Callable[[Handler], Handler]:
        """Register ``fn`` at ``paths``; ``media_type``: its 200 is that (a file), not JSON."""
        def deco(fn: Handler) -> Handler:
            async def run(request: Request) -> Any:
                try:
                    await authorized(request)
                    return await fn(request)
                except ManagerError as e:
                    return _detail(_call_status(e), e.message)
            run.__name__, run.__doc__ = fn.__name__, fn.__doc__
            responses = openapi_errors.responses(XAgentError, {**COMMON, **(docs or {})})
            responses.pop(200, None)  # the success body is the route's own
            if docs and 200 in docs:
                responses[200] = {"description": docs[200]}
                if media_type:
                    responses[200]["content"] = {media_type: {"schema": {"type": "string", "format": "binary"}}}
            for path in paths:
                for method in methods:  # one operation each (an operation id per method and path)
                    router.add_api_route(path, run, methods=[method], responses=responses,
                                         response_class=Response if media_type else JSONResponse,
                                         operation_id=f"xagent{path.replace('/', '_')}_{method.lower()}")
            return fn
        return deco

    async def specs_of(request: Request) -> list[dict[str, Any]]:
        cookie = request.cookies.get(COOKIE)
        if cookie is None:  # no session: the tools this manager's image serves, as registered here
            served = await manager.image_tools(manager.config.default_image)
            return catalog.local_specs([n for n in served or [] if n in catalog.tool_names()])
        s = await sessions.running(cookie)
        return await manager.node_tools(s.tenant_id, s.key)

    @endpoint("/get_cookie", "/get_cookies", docs=OPEN)
    async def get_cookie(request: Request) -> Response:
        """Open a session: a node with every tool of the image (warm when the pool has one). The
        ``node_id`` cookie names it in every later call."""
        body = await _body(request, CookieRequest)
        tenant = request.headers.get("x-tenant-id") or body.tenant_id
        if not re.fullmatch(NAME_PATTERN, tenant):
            raise ManagerError(422, f"invalid tenant {tenant!r} (X-Tenant-Id): use letters, digits, '_', '.', '-'")
        cookie, rec = await sessions.open(tenant, body.tool_cfg)
        response = JSONResponse({"message": "add cookie", "version": "msagent-1", "tool_node_name": rec.name,
                                 "status": rec.status})
        response.headers["Server"] = "msagent-ToolServerManager/1"
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict")
        return response

    @endpoint("/get_available_tools", methods=("POST", "GET"), docs=NO_IMAGE)
    async def get_available_tools(request: Request) -> Any:
        """``{available_envs, available_tools, tools_json}`` of the session's node."""
        out = catalog.available(await specs_of(request))
        out["available_tools"].append(RESULT_TOOL)
        out["tools_json"].append(RESULT_SPEC)
        return out

    @endpoint("/retrieving_tools", docs=NO_IMAGE)
    async def retrieving_tools(request: Request) -> Any:
        """The top-k tools for a question (BM25 over names and descriptions)."""
        req = await _body(request, RetrieveRequest)
        found = catalog.retrieve(req.question, req.top_k, await specs_of(request))
        return {"retrieved_tools": [t["name"] for t in found], "tools_json": found}

    @endpoint("/get_json_schema_for_tools", docs=NO_IMAGE)
    async def get_json_schema_for_tools(request: Request) -> Any:
        req = await _body(request, NamesRequest)
        found, missing = catalog.schemas(req.tool_names, await specs_of(request) + [RESULT_SPEC])
        return {"tools_json": found, "missing_tools": missing}

    @endpoint("/get_json_schema_for_envs", docs=NO_IMAGE)
    async def get_json_schema_for_envs(request: Request) -> Any:
        req = await _body(request, NamesRequest)
        found, missing = catalog.env_schemas(req.env_names, await specs_of(request))
        return {"envs_json": found, "missing_envs": missing}

    @endpoint("/execute_tool", docs=EXECUTE)
    async def execute_tool(request: Request) -> Any:
        """Run a tool in the session's node; the result wrapped as XAgent's client reads it."""
        s = sessions.find(request.cookies.get(COOKIE))
        req = await _body(request, ExecuteRequest)
        name = req.tool_name
        if req.env_name and not name.startswith(req.env_name + "_"):
            name = f"{req.env_name}_{name}"
        wait = sessions.config.call_wait
        try:
            if name == RESULT_TOOL:
                args = req.arguments if isinstance(req.arguments, dict) else json.loads(req.arguments or "{}")
                if not isinstance(args.get("call_id"), str):
                    raise ManagerError(422, f"{RESULT_TOOL} needs the 'call_id' a 450 answer gave")
                try:
                    return await manager.result(s.tenant_id, args["call_id"], wait)
                except ManagerError as e:
                    if e.status == 404:  # not a tool name: the argument is what is wrong
                        raise ManagerError(422, f"{RESULT_TOOL}: {e.message}") from None
                    raise
            await sessions.ready(s)
            return await manager.execute(s.tenant_id, s.key, req.arguments, {}, wait, tool=name, wrapped=True)
        except ManagerError as e:
            if e.status != 202:
                raise
            call_id = e.output["call_id"]
            return JSONResponse({"detail": {
                "type": "retry", "next_calling": RESULT_TOOL, "arguments": {"call_id": call_id},
                "message": f"still running after {wait:g} s; call {RESULT_TOOL} with these arguments for the rest"}},
                status_code=450)

    @endpoint("/upload_file", docs=UPLOAD)
    async def upload_file(request: Request) -> Any:
        """Put a file (multipart field ``file``; optional field ``path``: its folder) in the workspace."""
        s = await sessions.running(request.cookies.get(COOKIE))
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ManagerError(422, "send the file as the multipart field 'file'")
        if (upload.size or 0) > MAX_UPLOAD:
            raise ManagerError(413, f"the file is larger than {MAX_UPLOAD // 2**20} MB")
        folder = str(form.get("path") or "").strip("/")
        name = (upload.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
        r = await manager.node_raw(s.tenant_id, s.key, "PUT", "/workspace/file",
                                   params={"path": f"{folder}/{name}" if folder else name}, content=await upload.read())
        return {"message": "Upload Success!", **r.json()}

    @endpoint("/download_file", docs=DOWNLOAD, media_type="application/octet-stream")
    async def download_file(request: Request) -> Response:
        s = await sessions.running(request.cookies.get(COOKIE))
        req = await _body(request, FileRequest)
        r = await manager.node_raw(s.tenant_id, s.key, "GET", "/workspace/file", params={"path": req.file_path})
        return Response(r.content, media_type=r.headers.get("content-type"),
                        headers={"content-disposition": r.headers.get("content-disposition", "attachment")})

    @endpoint("/get_workspace_structure")
    async def get_workspace_structure(request: Request) -> Any:
        s = await sessions.running(request.cookies.get(COOKIE))
        return (await manager.node_raw(s.tenant_id, s.key, "GET", "/workspace/structure")).json()

    @endpoint("/download_workspace", docs=ZIP, media_type="application/zip")
    async def download_workspace(request: Request) -> Response:
        s = await sessions.running(request.cookies.get(COOKIE))
        r = await manager.node_raw(s.tenant_id, s.key, "GET", "/workspace/zip", timeout=300.0)
        return Response(r.content, media_type="application/zip",
                        headers={"content-disposition": 'attachment; filename="workspace.zip"'})

    async def close(request: Request) -> Response:
        rec = await sessions.close(request.cookies.get(COOKIE))
        response = JSONResponse({"message": f"session closed: its node {rec.name} is removed"})
        response.delete_cookie(COOKIE)
        return response

    endpoint("/close_session", "/release_session")(close)
    app.include_router(router, prefix=PREFIX)
    app.add_middleware(XAgentPaths, prefix=PREFIX)
    return sessions
