"""``POST /v1/chat/completions``: OpenAI-compatible, with tools, tool_choice and streaming.

Two ways through: an OpenAI-compatible back end with native tools gets the request relayed
(``fastpath.py``); everything else (DashScope, prompt-based function calling, the local model)
runs ``ChatModel.chat`` on worker threads and is encoded here. Which fields reach the back end is
decided in ``fields.py``; ``response_format`` off the relay is ``structured.py``; the legacy
``functions`` / ``function_call`` become tools and come back as ``function_call``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from deploy.assistant import fastpath, fields
from deploy.assistant.convert import to_messages, to_tool_choice, to_tool_specs, tools_of
from deploy.assistant.errors import CHAT_ERRORS, from_exception
from deploy.assistant.models import ChatCompletionRequest
from deploy.assistant.services import Services, bearer_key, services
from deploy.assistant.sse import ChunkEncoder, completion_body
from deploy.assistant.structured import JsonFormat
from msagent.llm.base import ChatModel, ChatResult
from msagent.llm.dashscope_model import DashScopeModel
from msagent.llm.events import FinishEvent, LLMEvent, TextDelta, ToolCallEvent, UsageEvent
from msagent.llm.openai_compat import OpenAICompatModel
from msagent.schemas import Message, ToolSpec, new_id

router = APIRouter()

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def route_of(model: ChatModel, specs: list[ToolSpec], tool_choice: str) -> str:
    """relay | openai | dashscope | other (see ``fields.py``)."""
    if fastpath.applies(model, specs, tool_choice):
        return "relay"
    if isinstance(model, OpenAICompatModel):
        return "openai"
    return "dashscope" if isinstance(model, DashScopeModel) else "other"


@dataclass
class Plan:
    """What one request asks of which back end, checked (a bad request raised a 400 on the way)."""

    body: ChatCompletionRequest
    model: ChatModel
    messages: list[Message]
    specs: list[ToolSpec]
    tool_choice: str
    parallel: bool
    legacy: bool
    route: str
    passed: dict[str, Any]
    settings: dict[str, Any]


def plan(body: ChatCompletionRequest, svc: Services, key: str | None) -> Plan:
    raw_tools, raw_choice, param = tools_of(body)
    legacy = body.functions is not None
    messages = to_messages(body.messages)
    specs = to_tool_specs(raw_tools, param)
    tool_choice = to_tool_choice(raw_choice, specs)
    model = svc.models.get(svc.config.llm_config(model=body.model, api_key=key))
    route = route_of(model, specs, tool_choice)
    passed = fields.passed_on(body, route, model.config.model_server)
    if route == "relay" and body.stream and body.stream_options is not None:
        passed["stream_options"] = body.stream_options.model_dump(exclude_none=True)
    settings = {k: v for k, v in body.settings().items() if v is not None}
    return Plan(body, model, messages, specs, tool_choice, not legacy and body.parallel_tool_calls is not False,
                legacy, route, passed, settings)


async def open_relay(p: Plan, svc: Services) -> fastpath.Relay:
    """The back end's answer to a relay plan (an error status raises before anything is sent)."""
    assert isinstance(p.model, OpenAICompatModel)
    sent = fastpath.request_body(p.model, p.messages, tools=p.specs, tool_choice=p.tool_choice,
                                 parallel_tool_calls=p.parallel, stream=p.body.stream, passed=p.passed,
                                 configured=svc.fast.configured(p.model), **p.settings)
    return await svc.fast.open(p.model, sent, one_call=not p.parallel, legacy=p.legacy)


@router.post("/v1/chat/completions", response_model=None, summary="Chat completions (OpenAI-compatible)",
             responses=CHAT_ERRORS)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, svc: Services = Depends(services)
) -> JSONResponse | StreamingResponse:
    p = plan(body, svc, bearer_key(request))
    if p.route == "relay":
        relay = await open_relay(p, svc)
        if not body.stream:
            return JSONResponse(await relay.whole())
        return StreamingResponse(relayed(relay.frames()), media_type="text/event-stream", headers=SSE_HEADERS)
    model, messages, specs, tool_choice, legacy = p.model, p.messages, p.specs, p.tool_choice, p.legacy
    parallel, passed, settings = p.parallel, p.passed, p.settings

    kwargs: dict[str, Any] = {"tools": specs, "tool_choice": tool_choice, "parallel_tool_calls": parallel,
                              **settings, **passed}
    completion_id = new_id("chatcmpl-")
    model_name = body.model or model.model
    fmt = JsonFormat.of(body.response_format)
    events: AsyncIterator[LLMEvent]
    if fmt is not None:
        result = await _formatted(svc, model, messages, fmt, kwargs)
        if not body.stream:
            return JSONResponse(completion_body(result, completion_id=completion_id, model=model_name,
                                                created=int(time.time()), legacy=legacy))
        events = _replay(result)
    elif body.stream:
        events = svc.threads.iterate(lambda: model.chat(messages, stream=True, **kwargs))
    else:
        result = await svc.threads.call(lambda: ChatResult.collect(model.chat(messages, stream=False, **kwargs)))
        return JSONResponse(completion_body(result, completion_id=completion_id, model=model_name,
                                            created=int(time.time()), legacy=legacy))
    # Wait for the first event before answering 200, so that a refused key or an unreachable
    # back-end is still an HTTP error the client's SDK raises as such.
    first = await anext(events)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    encoder = ChunkEncoder(completion_id=completion_id, model=model_name, include_usage=include_usage, legacy=legacy)
    return StreamingResponse(_frames(encoder, first, events), media_type="text/event-stream", headers=SSE_HEADERS)


async def _formatted(
    svc: Services, model: ChatModel, messages: list[Message], fmt: JsonFormat, kwargs: dict[str, Any]
) -> ChatResult:
    """The whole answer in the requested format: prompted, checked, asked once more, else 502."""
    asked = fmt.prompt(messages)
    spent = None
    for attempt in (1, 2):
        result = await svc.threads.call(lambda m=asked: ChatResult.collect(model.chat(m, stream=False, **kwargs)))
        spent = result.usage if spent is None else spent + result.usage
        result.usage = spent
        if result.tool_calls:  # a call, not an answer: nothing to check yet
            return result
        try:
            result.text = fmt.check(result.text)
            return result
        except ValueError as e:
            if attempt == 2:
                raise fmt.failure(str(e)) from None
            asked = fmt.retry(asked, result.text, str(e))
    raise AssertionError("unreachable")


async def _replay(result: ChatResult) -> AsyncIterator[LLMEvent]:
    """A checked whole answer as the events of a stream."""
    if result.text:
        yield TextDelta(text=result.text)
    for index, call in enumerate(result.tool_calls):
        yield ToolCallEvent(index=index, call=call)
    yield UsageEvent(usage=result.usage)
    yield FinishEvent(reason=result.finish_reason)


async def relayed(frames: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    try:
        async for frame in frames:
            yield frame
    except Exception as e:  # the status line is sent already: report in-stream as OpenAI does
        yield ChunkEncoder.error(from_exception(e).body())


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
