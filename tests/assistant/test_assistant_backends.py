"""Back-end failures map as OpenAI's do; the DashScope back-end; prompt-based function calling."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import openai
import pytest

from deploy.assistant.config import AssistantConfig
from msagent.testing import FakeDashScopeServer, FakeOpenAIServer, FakeReply

WEATHER = {
    "type": "function",
    "function": {
        "name": "amap_weather",
        "description": "amap weather tool",
        "parameters": [{"name": "location", "type": "string", "required": True}],
    },
}
USER = [{"role": "user", "content": "海淀区天气"}]


def _config(base: str, tmp: Any, **more: Any) -> AssistantConfig:
    return AssistantConfig(model_server="openai", api_base=base, api_key="sk-server", knowledge_dir=str(tmp), **more)


@pytest.mark.parametrize(
    ("reply", "status", "sdk_error"),
    [
        (FakeReply(status=401, error_message="Incorrect API key"), 401, openai.AuthenticationError),
        (FakeReply(status=429, error_message="slow down"), 429, openai.RateLimitError),
        (FakeReply(status=500, error_message="boom"), 502, openai.InternalServerError),
        (FakeReply(hang_s=3, text="late"), 504, openai.InternalServerError),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_back_end_failures_map_like_openai(
    serve_api: Any, tmp_path: Any, reply: FakeReply, status: int, sdk_error: type, stream: bool
) -> None:
    with FakeOpenAIServer(replies=[reply], cycle=True) as fake, serve_api(_config(fake.base_url, tmp_path, timeout=1)) as url:
        r = httpx.post(f"{url}/v1/chat/completions", json={"model": "m", "messages": USER, "stream": stream}, timeout=20)
        assert r.status_code == status, r.text
        assert set(r.json()["error"]) == {"message", "type", "param", "code"}
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="empty", max_retries=0)
        with pytest.raises(sdk_error):
            client.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]


def test_unreachable_back_end_is_502(serve_api: Any, tmp_path: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    with serve_api(_config(f"http://127.0.0.1:{dead}/v1", tmp_path, timeout=2)) as url:
        r = httpx.post(f"{url}/v1/chat/completions", json={"model": "m", "messages": USER}, timeout=20)
        assert r.status_code == 502, r.text
        assert "unreachable" in r.json()["error"]["message"]


def test_missing_model_name_is_400(serve_api: Any, tmp_path: Any) -> None:
    with FakeOpenAIServer(replies=["x"]) as fake, serve_api(_config(fake.base_url, tmp_path)) as url:
        r = httpx.post(f"{url}/v1/chat/completions", json={"messages": USER})
        assert r.status_code == 400 and "model" in r.json()["error"]["message"]


def test_dashscope_back_end(serve_api: Any, tmp_path: Any) -> None:
    reply = FakeReply(text="", tool_calls=[{"name": "amap_weather", "arguments": {"location": "海淀区"}}])
    with FakeDashScopeServer(replies=[reply], cycle=True) as fake:
        config = AssistantConfig(model_server="dashscope", api_base=fake.base_url, knowledge_dir=str(tmp_path), timeout=5)
        with serve_api(config) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-dashscope-user", max_retries=0)
            done = client.chat.completions.create(model="qwen-max", messages=USER, tools=[WEATHER])  # type: ignore[arg-type,list-item]
            call = done.choices[0].message.tool_calls[0]  # type: ignore[index]
            assert json.loads(call.function.arguments) == {"location": "海淀区"}  # type: ignore[union-attr]
            assert done.choices[0].finish_reason == "tool_calls" and call.id
            stream = client.chat.completions.create(
                model="qwen-max", messages=USER, tools=[WEATHER], stream=True, stream_options={"include_usage": True}  # type: ignore[arg-type,list-item]
            )
            chunks = list(stream)
            args = "".join(
                tc.function.arguments or ""  # type: ignore[union-attr]
                for c in chunks
                for ch in c.choices
                for tc in ch.delta.tool_calls or []
            )
            assert json.loads(args) == {"location": "海淀区"}
            assert chunks[-1].usage is not None
            auth = json.dumps(fake.headers[-1])
            assert "sk-dashscope-user" in auth


def test_prompt_based_function_calling(serve_api: Any, tmp_path: Any) -> None:
    """A back-end without native tools: the ReAct prompt goes out, Action lines come back as calls."""
    react = 'Action: amap_weather\nAction Input: {"location": "北京"}\nAction: amap_weather\nAction Input: {"location": "上海"}\n'
    with FakeOpenAIServer(replies=[react], cycle=True) as fake, serve_api(
        _config(fake.base_url, tmp_path, native_tool_calling=False)
    ) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="empty", max_retries=0)
        done = client.chat.completions.create(model="qwen", messages=USER, tools=[WEATHER])  # type: ignore[arg-type,list-item]
        calls = done.choices[0].message.tool_calls or []
        assert [json.loads(c.function.arguments) for c in calls] == [{"location": "北京"}, {"location": "上海"}]  # type: ignore[union-attr]
        assert done.choices[0].finish_reason == "tool_calls"
        assert "tools" not in fake.requests[-1]  # the tools went into the prompt instead
        assert "amap_weather" in json.dumps(fake.requests[-1]["messages"], ensure_ascii=False)
        one = client.chat.completions.create(model="qwen", messages=USER, tools=[WEATHER], parallel_tool_calls=False)  # type: ignore[arg-type,list-item]
        assert len(one.choices[0].message.tool_calls or []) == 1
        stream = client.chat.completions.create(model="qwen", messages=USER, tools=[WEATHER], stream=True)  # type: ignore[arg-type,list-item]
        names = [tc.function.name for c in stream for ch in c.choices for tc in ch.delta.tool_calls or [] if tc.function and tc.function.name]  # type: ignore[union-attr]
        assert names == ["amap_weather", "amap_weather"]
