"""The fake servers themselves, through the raw SDKs: wire details other areas rely on."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import dashscope
import httpx
import openai
import pytest

from msagent.testing import FakeDashScopeServer, FakeOpenAIServer, FakeReply

MESSAGES = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}


def test_openai_stream_splits_tool_arguments_and_sends_usage() -> None:
    with FakeOpenAIServer(
        [FakeReply(tool_calls=[{"name": "f", "arguments": {"query": "a long value"}}])]
    ) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        chunks = list(
            client.chat.completions.create(
                model="m",
                messages=MESSAGES,
                tools=[TOOL],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    fragments = [
        c.choices[0].delta.tool_calls[0] for c in chunks if c.choices and c.choices[0].delta.tool_calls
    ]
    assert fragments[0].id and fragments[0].function.name == "f"
    assert len(fragments) >= 3  # the head, then the arguments in several pieces
    assert json.loads("".join(f.function.arguments or "" for f in fragments)) == {"query": "a long value"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage is not None and chunks[-1].choices == []


def test_openai_models_errors_and_running_out() -> None:
    with FakeOpenAIServer(["only one"], model="my-model") as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        assert [m.id for m in client.models.list()] == ["my-model"]
        assert (
            client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content
            == "only one"
        )
        with pytest.raises(openai.InternalServerError, match="ran out of replies"):
            client.chat.completions.create(model="m", messages=MESSAGES)
        bad = httpx.post(f"{server.base_url}/chat/completions", content=b"{not json")
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
        assert httpx.post(f"{server.base_url}/chat/completions", json={"model": "m"}).status_code == 400
        assert httpx.get(f"{server.base_url}/nope").status_code == 404
        assert len(server.requests) == 2  # bad requests are answered, not recorded


def test_handler_sees_the_request_and_concurrent_calls() -> None:
    def handler(body: dict) -> str:
        return "echo " + body["messages"][-1]["content"]

    with FakeOpenAIServer(handler=handler) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)

        def ask(i: int) -> str:
            messages = [{"role": "user", "content": str(i)}]
            return (
                client.chat.completions.create(model="m", messages=messages).choices[0].message.content or ""
            )

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(ask, range(24)))
    assert answers == [f"echo {i}" for i in range(24)]
    assert len(server.requests) == 24


def test_dashscope_sdk_stream_with_tools_and_errors() -> None:
    replies = [
        FakeReply(text="a b c", tool_calls=[{"name": "f", "arguments": {"x": 1}}]),
        FakeReply(status=429, error_message="too many"),
    ]
    with FakeDashScopeServer(replies) as server:
        responses = list(
            dashscope.Generation.call(
                model="qwen",
                messages=MESSAGES,
                api_key="k",
                base_address=server.base_url,
                result_format="message",
                stream=True,
                incremental_output=True,
                tools=[TOOL],
            )
        )
        error = dashscope.Generation.call(
            model="qwen",
            messages=MESSAGES,
            api_key="k",
            base_address=server.base_url,
            result_format="message",
        )
        assert server.headers[0]["authorization"] == "Bearer k"
        assert server.headers[0]["x-dashscope-sse"] == "enable"
        assert server.requests[0]["parameters"]["incremental_output"] is True
    assert all(r.status_code == 200 for r in responses)
    text = "".join(r.output.choices[0].message.content for r in responses)
    assert text == "a b c"
    args = "".join(
        tc["function"].get("arguments", "")
        for r in responses
        for tc in r.output.choices[0].message.get("tool_calls", [])
    )
    assert json.loads(args) == {"x": 1}
    assert responses[-1].output.choices[0].finish_reason == "tool_calls"
    assert responses[-1].usage["output_tokens"] > 0
    assert (error.status_code, error.code, error.message) == (429, "Throttling.RateQuota", "too many")
