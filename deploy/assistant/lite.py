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

from deploy.assistant.chat import SSE_HEADERS
from deploy.assistant.convert import to_messages
from deploy.assistant.errors import from_exception
from deploy.assistant.files import knowledge_error
from deploy.assistant.models import AssistantRequest
from deploy.assistant.services import Services, bearer_key, services
from deploy.assistant.sse import DONE, sse
from msagent.errors import ConfigError
from msagent.knowledge import Passage, format_passages
from msagent.schemas import new_id

router = APIRouter()


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


@router.post("/v1/assistants/lite", response_model=None, summary="Run an assistant agent (tools, knowledge)")
async def assistants_lite(
    body: AssistantRequest, request: Request, svc: Services = Depends(services)
) -> JSONResponse | StreamingResponse:
    messages = to_messages(body.messages)
    query, history = messages[-1].content, messages[:-1]
    found: list[Passage] = []
    if body.use_knowledge:
        try:
            found = await svc.threads.call(
                lambda: svc.store.search(body.uuid_str, query, files=body.files, budget=body.knowledge_budget)
            )
        except ConfigError as e:
            raise knowledge_error(e) from e
    knowledge = format_passages(found)
    sources = [{"name": p.name, "seq": p.seq, "score": p.score} for p in found]
    llm = svc.models.get(_llm_config(body, svc, bearer_key(request)))
    tools = _tools(body)
    cfg = body.agent_config

    def run() -> Iterator[str]:
        from msagent.agents import RolePlay

        agent = RolePlay(
            function_list=tools, llm=llm, instruction=cfg.instruction, name=cfg.name, description=cfg.description
        )
        return agent.run(query, history=history, knowledge=knowledge, **body.kwargs)

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
