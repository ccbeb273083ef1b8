"""``POST /v1/assistants/lite``: a RolePlay agent with server-side tools and optional knowledge.

Not streaming, the answer is ``{"request_id", "message": "", "output": {"response": text,
"knowledge": [passage sources]}}``. With ``"stream": true`` it is Server-Sent Events:
``data: {"request_id", "delta": "<text chunk>"}`` per chunk, then
``data: {"request_id", "done": true, "response": "<whole text>", "knowledge": [...]}`` and
``data: [DONE]``; a failure after the stream began is ``data: {"error": {...}}`` and the stream ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from deploy.assistant.chat import SSE_HEADERS
from deploy.assistant.convert import choice_among, to_messages
from deploy.assistant.errors import CHAT_ERRORS, APIError, ErrorBody, bad_request, from_exception
from deploy.assistant.files import knowledge_error
from deploy.assistant.models import AssistantRequest
from deploy.assistant.services import Services, bearer_key, services
from deploy.assistant.sse import DONE, sse
from deploy.openapi_errors import responses
from msagent.errors import ConfigError, RuntimeFailure, ToolTimeoutError
from msagent.knowledge import KnowledgeNotFoundError, Passage, format_passages
from msagent.knowledge.store import check_name
from msagent.llm.config import GenerationSettings
from msagent.schemas import new_id

# the server supplies these to the agent; a request may not override them through ``kwargs``
RESERVED_KWARGS = ("query", "history", "knowledge", "generate_cfg")
MAX_TURNS = 50

router = APIRouter()
LITE_ERRORS = {**CHAT_ERRORS, **responses(ErrorBody, {404: "a named file is not uploaded for uuid_str"})}


def _llm_config(body: AssistantRequest, svc: Services, key: str | None) -> dict[str, Any]:
    llm = body.llm_config
    extra = dict(llm.model_extra or {})
    more: dict[str, Any] = {"generate_cfg": llm.generate_config or None, **extra}
    if llm.model_server and llm.model_server != svc.config.model_server:
        # another back-end than the server's: none of the server's base URL or key applies
        cfg: dict[str, Any] = {"model_server": llm.model_server, "model": llm.model, **more}
        for name, value in (("api_key", llm.api_key or key), ("api_base", llm.api_base)):
            if value:
                cfg[name] = value
        return {k: v for k, v in cfg.items() if v is not None}
    return svc.config.llm_config(model=llm.model, api_key=llm.api_key or key, api_base=llm.api_base, **more)


def _tools(body: AssistantRequest) -> list[Any]:
    tools: list[Any] = list(body.agent_config.tools)
    for tool in body.tools or []:
        if tool not in tools:
            tools.append(tool)
    return tools


def _check_settings(settings: dict[str, Any], param: str) -> None:
    """Generation settings are checked here, so a bad one is a 400 and not a failure mid-run."""
    data = dict(settings)
    if isinstance(data.get("stop"), str):
        data["stop"] = [data["stop"]]
    try:
        GenerationSettings.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise bad_request(f"invalid value for {where!r}: {first.get('msg')}", f"{param}.{where}" if where else param) from e


def _run_kwargs(body: AssistantRequest, tools: list[Any]) -> dict[str, Any]:
    """The extra ``kwargs`` and ``tool_choice`` of the request, checked, as the agent takes them."""
    kwargs = dict(body.kwargs)
    for key in RESERVED_KWARGS:
        if key in kwargs:
            raise bad_request(f"kwargs may not set {key!r}: the server sets it from the request", f"kwargs.{key}")
    if "max_turns" in kwargs:
        turns = kwargs["max_turns"]
        if isinstance(turns, bool) or not isinstance(turns, int) or not 1 <= turns <= MAX_TURNS:
            raise bad_request(f"max_turns must be an integer from 1 to {MAX_TURNS}", "kwargs.max_turns")
    _check_settings(body.llm_config.generate_config, "llm_config.generate_config")
    _check_settings({k: v for k, v in kwargs.items() if k in GenerationSettings.model_fields}, "kwargs")
    names = [t if isinstance(t, str) else str(t.get("name", "")) for t in tools]
    choice = body.tool_choice if body.tool_choice is not None else kwargs.get("tool_choice")
    if choice is not None:
        kwargs["tool_choice"] = choice_among(choice, names)
    return kwargs


def _check_files(body: AssistantRequest, svc: Services) -> None:
    """Every file named in ``files`` must have been uploaded for ``uuid_str``: none is skipped silently."""
    try:
        for name in body.files or []:
            check_name(name)
        uploaded = {f["name"] for f in svc.store.files(body.uuid_str)}
        missing = [n for n in body.files or [] if n not in uploaded]
        if missing:
            raise KnowledgeNotFoundError(
                f"no file {', '.join(map(repr, missing))} uploaded for uuid {body.uuid_str!r}; "
                "upload it to /v1/files first",
                field="files",
            )
    except ConfigError as e:
        raise knowledge_error(e) from e


def _build_agent(cls: type, svc: Services, **kwargs: Any) -> Any:
    """The request's agent; with ``use_tool_api`` its tools start as tool-node containers, and the
    tool service's failures are answered like a back-end's (its 4xx stay 4xx, the rest 502/504)."""
    if not svc.config.use_tool_api:
        return cls(**kwargs)
    try:
        return cls(**kwargs, use_tool_api=True, tenant_id=svc.config.tool_tenant_id, tool_api=svc.config.tool_api())
    except ToolTimeoutError as e:
        raise APIError(504, f"tool service: {e.message}", code="tool_service_timeout", type="api_error") from e
    except RuntimeFailure as e:
        status = e.details.get("status_code")
        if isinstance(status, int) and 400 <= status < 500:
            raise APIError(400, f"tool service: {e.message}", param="agent_config.tools", code="tool_service_refused") from e
        raise APIError(502, f"tool service: {e.message}", code="tool_service_unavailable", type="api_error") from e


@router.post("/v1/assistants/lite", response_model=None, summary="Run an assistant agent (tools, knowledge)",
             responses=LITE_ERRORS)
async def assistants_lite(
    body: AssistantRequest, request: Request, svc: Services = Depends(services)
) -> JSONResponse | StreamingResponse:
    messages = to_messages(body.messages)
    query, history = messages[-1].content, messages[:-1]
    tools = _tools(body)
    run_kwargs = _run_kwargs(body, tools)
    found: list[Passage] = []
    if body.use_knowledge:
        await svc.threads.call(_check_files, body, svc)
        try:
            found = await svc.threads.call(
                lambda: svc.store.search(body.uuid_str, query, files=body.files, budget=body.knowledge_budget)
            )
        except ConfigError as e:
            raise knowledge_error(e) from e
    knowledge = format_passages(found)
    sources = [{"name": p.name, "seq": p.seq, "score": p.score} for p in found]
    llm = svc.models.get(_llm_config(body, svc, bearer_key(request)))
    cfg = body.agent_config

    def run() -> Iterator[str]:
        from msagent.agents import RolePlay

        agent = _build_agent(
            RolePlay, svc, function_list=tools, llm=llm, instruction=cfg.instruction, name=cfg.name,
            description=cfg.description,
        )  # fmt: skip
        try:
            yield from agent.run(query, history=history, knowledge=knowledge, **run_kwargs)
        finally:
            agent.close()  # the request's tools (kernels, clients) end with it

    request_id = new_id("req_")
    if not body.stream:
        text = await svc.threads.call(lambda: "".join(run()))
        return JSONResponse(
            {"request_id": request_id, "message": "", "output": {"response": text, "knowledge": sources}}
        )
    chunks = svc.threads.iterate(run)
    first = await anext(chunks, "")  # errors before the first chunk are still HTTP errors
    return StreamingResponse(
        _frames(request_id, first, chunks, sources), media_type="text/event-stream", headers=SSE_HEADERS
    )


async def _frames(request_id: str, first: str, chunks: AsyncIterator[str], sources: list[dict]) -> AsyncIterator[bytes]:
    text = first
    if first:
        yield sse({"request_id": request_id, "delta": first})
    try:
        async for chunk in chunks:
            text += chunk
            yield sse({"request_id": request_id, "delta": chunk})
    except Exception as e:
        yield sse(from_exception(e).body())
        return
    yield sse({"request_id": request_id, "done": True, "response": text, "knowledge": sources})
    yield DONE
