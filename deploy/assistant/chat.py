"""``POST /v1/chat/completions``: OpenAI-compatible, with tools, tool_choice and streaming."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from deploy.assistant import fastpath
from deploy.assistant.convert import to_messages, to_tool_choice, to_tool_specs
from deploy.assistant.errors import from_exception
from deploy.assistant.models import ChatCompletionRequest
from deploy.assistant.services import Services, bearer_key, services
from deploy.assistant.sse import ChunkEncoder, completion_body
from msagent.llm.base import ChatResult
from msagent.llm.events import LLMEvent
from msagent.schemas import new_id

router = APIRouter()

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.post("/v1/chat/completions", response_model=None, summary="Chat completions (OpenAI-compatible)")
async def chat_completions(
    body: ChatCompletionRequest, request: Request, svc: Services = Depends(services)
) -> JSONResponse | StreamingResponse:
    messages = to_messages(body.messages)
    specs = to_tool_specs(body.tools)
    tool_choice = to_tool_choice(body.tool_choice, specs)
    model = svc.models.get(svc.config.llm_config(model=body.model, api_key=bearer_key(request)))
    kwargs: dict[str, Any] = {
        "tools": specs,
        "tool_choice": tool_choice,
        "parallel_tool_calls": True if body.parallel_tool_calls is None else body.parallel_tool_calls,
        **{k: v for k, v in body.settings().items() if v is not None},
    }
    completion_id = new_id("chatcmpl-")
    model_name = body.model or model.model
    events: AsyncIterator[LLMEvent]
    if fastpath.applies(model, specs, tool_choice):
        events = svc.fast.chat(model, messages, stream=body.stream, **kwargs)  # type: ignore[arg-type]
    elif body.stream:
        events = svc.threads.iterate(lambda: model.chat(messages, stream=True, **kwargs))
    else:
        result = await svc.threads.call(lambda: ChatResult.collect(model.chat(messages, stream=False, **kwargs)))
        return JSONResponse(completion_body(result, completion_id=completion_id, model=model_name, created=int(time.time())))
    if not body.stream:
        result = ChatResult()
        async for event in events:
            result.add(event)
        return JSONResponse(completion_body(result, completion_id=completion_id, model=model_name, created=int(time.time())))
    # Wait for the first event before answering 200, so that a refused key or an unreachable
    # back-end is still an HTTP error the client's SDK raises as such.
    first = await anext(events)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    encoder = ChunkEncoder(completion_id=completion_id, model=model_name, include_usage=include_usage)
    return StreamingResponse(_frames(encoder, first, events), media_type="text/event-stream", headers=SSE_HEADERS)


async def _frames(encoder: ChunkEncoder, first: LLMEvent, events: AsyncIterator[LLMEvent]) -> AsyncIterator[bytes]:
    # the frames one event makes (a tool call's head and argument fragments; the final chunk,
    # usage and [DONE]) go out as one body message: the same bytes in fewer writes through the
    # server and the ingress; text deltas still leave as they arrive
    try:
        yield encoder.start() + b"".join(encoder.encode(first))
        async for event in events:
            frames = b"".join(encoder.encode(event))
            if frames:
                yield frames
    except Exception as e:  # the status line is sent already: report in-stream as OpenAI does
        yield encoder.error(from_exception(e).body())
        return
    yield b"".join(encoder.end())
