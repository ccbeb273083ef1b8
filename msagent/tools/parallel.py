"""``call_tools``: the calls of one model turn, run at once where that is safe, their results in the
order the model asked for them.

A model that asks for several calls in one turn says they do not depend on each other (OpenAI's
parallel tool calls, Qwen-Agent's parallel ✿FUNCTION✿ blocks), so calls to different tools run
concurrently. Calls to one tool instance run one after another, in the order asked, because a tool
may hold state (a kernel, a working directory, an HTTP session) that two calls must not share at
once, unless the tool declares ``concurrent_calls = True`` (MCP tools: the protocol carries
concurrent requests over one session). A result is passed on as soon as it and every call before
it are done; ``call_tool`` makes every failure an observation, so one call never stops another.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from msagent.schemas import ToolCall
from msagent.tools.base import BaseTool
from msagent.tools.call import call_tool

MAX_WORKERS = 16


def call_tools(
    tools: Mapping[str, BaseTool],
    calls: Sequence[ToolCall],
    tool_kwargs: Mapping[str, Any] | None = None,
) -> Iterator[tuple[ToolCall, str]]:
    """Yield ``(call, observation)`` for every call, in the order of ``calls``."""
    kwargs = dict(tool_kwargs or {})
    lanes = _lanes(tools, calls)
    if len(lanes) <= 1:  # one call, or calls that must take turns anyway: no threads
        for call in calls:
            yield call, call_tool(tools, call, **kwargs)
        return
    results: list[Future[str]] = [Future() for _ in calls]

    def run_lane(indexes: list[int]) -> None:
        for n, i in enumerate(indexes):
            try:
                results[i].set_result(call_tool(tools, calls[i], **kwargs))
            except BaseException as e:  # call_tool turns Exceptions into text: only exits get here
                for j in indexes[n:]:
                    results[j].set_exception(e)
                return

    pool = ThreadPoolExecutor(max_workers=min(len(lanes), MAX_WORKERS), thread_name_prefix="msagent-tool")
    try:
        for indexes in lanes:
            pool.submit(contextvars.copy_context().run, run_lane, indexes)
        for call, result in zip(calls, results, strict=True):
            yield call, result.result()
    finally:
        pool.shutdown(wait=False)  # every lane has ended unless the caller stopped reading early


def _lanes(tools: Mapping[str, BaseTool], calls: Sequence[ToolCall]) -> list[list[int]]:
    """The call indexes grouped into lanes that run one after another inside, concurrently apart."""
    lanes: dict[object, list[int]] = {}
    for i, call in enumerate(calls):
        tool = tools.get(call.function.name)
        key: object = ("call", i) if tool is None or tool.concurrent_calls else ("tool", id(tool))
        lanes.setdefault(key, []).append(i)
    return list(lanes.values())
