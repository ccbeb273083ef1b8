"""/v1/chat/completions with the official openai SDK as the client and a fake OpenAI-compatible
model server as the back-end, both real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from deploy.assistant.config import AssistantConfig
from msagent.testing import FakeOpenAIServer, FakeReply

WEATHER = {
    "type": "function",
    "function": {
        "name": "amap_weather",
        "description": "amap weather tool",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}
TIME = {"type": "function", "function": {"name": "current_time", "description": "now", "parameters": {"type": "object", "properties": {}}}}
LIST_FORM = {
    "type": "function",
    "function": {
        "name": "amap_weather",
        "description": "amap weather tool",
        "parameters": [{"name": "location", "type": "string", "description": "城市/区具体名称", "required": True}],
    },
}
TWO_CALLS = FakeReply(
    text="",
    tool_calls=[{"name": "amap_weather", "arguments": {"location": "北京"}}, {"name": "amap_weather", "arguments": {"location": "上海"}}],
)
USER = [{"role": "user", "content": "请同时调用工具查找北京和上海的天气"}]


class Env:
    def __init__(self, fake: FakeOpenAIServer, url: str) -> None:
        self.fake = fake
        self.url = url
        self.client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-client", max_retries=0)
        self.aclient = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="sk-client", max_retries=0)

    @property
    def sent(self) -> dict[str, Any]:
        """The last body the model server received."""
        return self.fake.requests[-1]


@pytest.fixture
def env(serve_api: Any, tmp_path: Any) -> Iterator[Env]:
    with FakeOpenAIServer(replies=[TWO_CALLS], cycle=True) as fake:
        config = AssistantConfig(model_server="openai", api_base=fake.base_url, api_key="sk-server", knowledge_dir=str(tmp_path), timeout=5)
        with serve_api(config) as url:
            yield Env(fake, url)


def test_parallel_tool_calls_with_ids(env: Env) -> None:
    done = env.client.chat.completions.create(model="qwen-max", messages=USER, tools=[WEATHER])  # type: ignore[arg-type,list-item]
    choice = done.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [json.loads(c.function.arguments) for c in calls] == [{"location": "北京"}, {"location": "上海"}]  # type: ignore[union-attr]
    assert all(c.id and c.type == "function" for c in calls)
    assert len({c.id for c in calls}) == 2
    assert done.usage is not None and done.usage.total_tokens > 0
    assert env.sent["tools"][0]["function"]["name"] == "amap_weather"
    assert env.sent.get("parallel_tool_calls", True) is not False


def test_parallel_false_gives_one_call(env: Env) -> None:
    done = env.client.chat.completions.create(model="m", messages=USER, tools=[WEATHER], parallel_tool_calls=False)  # type: ignore[arg-type,list-item]
    assert len(done.choices[0].message.tool_calls or []) == 1


@pytest.mark.parametrize(
    "choice",
    ["auto", "required", {"type": "function", "function": {"name": "amap_weather"}}],
)
def test_tool_choice_forms_reach_the_back_end(env: Env, choice: Any) -> None:
    done = env.client.chat.completions.create(model="m", messages=USER, tools=[WEATHER, TIME], tool_choice=choice)  # type: ignore[arg-type,list-item]
    assert done.choices[0].finish_reason == "tool_calls"
    sent = env.sent["tool_choice"]
    if isinstance(choice, dict):
        assert sent == choice or sent == {"type": "function", "function": {"name": "amap_weather"}}
    else:
        assert sent == choice


def test_tool_choice_none_means_no_calls(env: Env) -> None:
    done = env.client.chat.completions.create(model="m", messages=USER, tools=[WEATHER], tool_choice="none")  # type: ignore[arg-type,list-item]
    assert not done.choices[0].message.tool_calls
    assert done.choices[0].finish_reason == "stop"
    assert not env.sent.get("tools") or env.sent.get("tool_choice") == "none"


def test_streaming_tool_calls_reassembled(env: Env) -> None:
    stream = env.client.chat.completions.create(
        model="m", messages=USER, tools=[WEATHER], stream=True, stream_options={"include_usage": True}  # type: ignore[arg-type,list-item]
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    usage = None
    fragments = 0
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for tc in choice.delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] += tc.id or ""
                if tc.function:
                    slot["name"] += tc.function.name or ""
                    slot["arguments"] += tc.function.arguments or ""
                    fragments += bool(tc.function.arguments)
    assert finish == "tool_calls"
    assert [json.loads(calls[i]["arguments"]) for i in sorted(calls)] == [{"location": "北京"}, {"location": "上海"}]
    assert all(c["id"].startswith("call") and c["name"] == "amap_weather" for c in calls.values())
    assert fragments >= 2 and usage is not None and usage.total_tokens > 0


def test_async_client_and_sdk_stream_helper(env: Env) -> None:
    async def main() -> tuple[Any, Any]:
        done = await env.aclient.chat.completions.create(model="m", messages=USER, tools=[WEATHER])  # type: ignore[arg-type,list-item]
        async with env.aclient.chat.completions.stream(model="m", messages=USER, tools=[WEATHER]) as s:  # type: ignore[arg-type,list-item]
            final = await s.get_final_completion()
        return done, final

    done, final = asyncio.run(main())
    assert len(done.choices[0].message.tool_calls) == 2
    args = [json.loads(c.function.arguments) for c in final.choices[0].message.tool_calls]
    assert args == [{"location": "北京"}, {"location": "上海"}]


def test_settings_are_passed_on(env: Env) -> None:
    env.client.chat.completions.create(
        model="qwen-max", messages=USER, temperature=0.3, top_p=0.8, max_tokens=77, stop=["Observation:"], seed=7  # type: ignore[arg-type]
    )
    sent = env.sent
    assert sent["model"] == "qwen-max"
    assert sent["temperature"] == 0.3 and sent["top_p"] == 0.8 and sent["seed"] == 7
    assert (sent.get("max_tokens") or sent.get("max_completion_tokens")) == 77
    assert sent["stop"] in (["Observation:"], "Observation:")


def test_history_with_tool_calls_and_results(env: Env) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "text", "text": "北京天气"}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "amap_weather", "arguments": '{"location": "北京"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "晴"},
    ]
    env.client.chat.completions.create(model="m", messages=messages, tools=[WEATHER])  # type: ignore[arg-type,list-item]
    sent = env.sent["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[1]["content"] == "北京天气"
    assert sent[2]["tool_calls"][0]["id"] == "call_1"
    assert sent[3]["tool_call_id"] == "call_1" and sent[3]["content"] == "晴"


def test_seed_curl_list_form_and_bearer_key(env: Env) -> None:
    """The seed's curl example, byte for byte in shape: list-form tools, Bearer key."""
    r = httpx.post(
        f"{env.url}/v1/chat/completions",
        headers={"Authorization": "Bearer sk-from-curl"},
        json={"tools": [LIST_FORM], "tool_choice": "auto", "model": "qwen-max", "messages": [{"content": "海淀区天气", "role": "user"}]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["request_id"]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "amap_weather"
    assert set(body["usage"]) >= {"prompt_tokens", "completion_tokens", "total_tokens"}
    schema = env.sent["tools"][0]["function"]["parameters"]
    assert schema["required"] == ["location"] and schema["properties"]["location"]["type"] == "string"
    auth = {k.lower(): v for k, v in env.fake.headers[-1].items()}["authorization"]
    assert auth == "Bearer sk-from-curl"


def test_placeholder_key_uses_the_server_key(env: Env) -> None:
    client = openai.OpenAI(base_url=f"{env.url}/v1", api_key="empty", max_retries=0)
    client.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    auth = {k.lower(): v for k, v in env.fake.headers[-1].items()}["authorization"]
    assert auth == "Bearer sk-server"


def test_parallel_false_in_stream(env: Env) -> None:
    stream = env.client.chat.completions.create(model="m", messages=USER, tools=[WEATHER], parallel_tool_calls=False, stream=True)  # type: ignore[arg-type,list-item]
    indexes = {tc.index for c in stream for ch in c.choices for tc in ch.delta.tool_calls or []}
    assert indexes == {0}


def test_long_stream_lines_from_the_back_end(serve_api: Any, tmp_path: Any) -> None:
    """SSE lines of ~100 KB from the back-end (a big tool argument, one long word) arrive whole."""
    blob = "x" * 300_000
    word = "y" * 120_000
    reply = FakeReply(text=word, tool_calls=[{"name": "amap_weather", "arguments": {"location": blob}}])
    with FakeOpenAIServer(replies=[reply], cycle=True) as fake:
        config = AssistantConfig(model_server="openai", api_base=fake.base_url, api_key="sk", knowledge_dir=str(tmp_path), timeout=10)
        with serve_api(config) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-client", max_retries=0)
            for _ in range(2):  # the second call on the back-end connection the first one left
                text, args, finish = "", "", None
                for chunk in client.chat.completions.create(model="m", messages=USER, tools=[WEATHER], stream=True):  # type: ignore[arg-type,list-item]
                    for choice in chunk.choices:
                        text += choice.delta.content or ""
                        finish = choice.finish_reason or finish
                        for tc in choice.delta.tool_calls or []:
                            args += (tc.function and tc.function.arguments) or ""
                assert text == word and json.loads(args) == {"location": blob} and finish == "tool_calls"


@pytest.mark.parametrize("include_usage", [False, True])
def test_chunk_frames_are_the_documented_objects(include_usage: bool) -> None:
    """The encoder writes each chunk from a cached head; its bytes are exactly the JSON of the
    whole chunk object, in OpenAI's key order."""
    from deploy.assistant.sse import ChunkEncoder
    from msagent.llm.events import FinishEvent, TextDelta, ToolCallEvent
    from msagent.schemas import FunctionCall, ToolCall

    enc = ChunkEncoder(completion_id='chatcmpl-"q\\', model="模型/x", include_usage=include_usage)
    frames = [enc.start()]
    frames += enc.encode(TextDelta(text='say "hi"\n海淀'))
    call = ToolCall(id="call_1", function=FunctionCall(name="amap_weather", arguments='{"location": "海淀区, 北京市, 中国"}'))
    frames += enc.encode(ToolCallEvent(index=0, call=call))
    frames += enc.encode(FinishEvent(reason="tool_calls"))
    frames += enc.end()

    def expected(delta: dict[str, Any], finish: str | None = None) -> bytes:
        obj: dict[str, Any] = {
            "id": 'chatcmpl-"q\\', "object": "chat.completion.chunk", "created": enc.created, "model": "模型/x",
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            obj["usage"] = None
        return f"data: {json.dumps(obj, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()

    args = call.function.arguments
    want = [
        expected({"role": "assistant", "content": ""}),
        expected({"content": 'say "hi"\n海淀'}),
        expected({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "amap_weather", "arguments": ""}}]}),
        *(expected({"tool_calls": [{"index": 0, "function": {"arguments": args[i : i + 24]}}]}) for i in range(0, len(args), 24)),
        expected({}, "tool_calls"),
    ]
    assert frames[: len(want)] == want
    assert frames[-1] == b"data: [DONE]\n\n" and len(frames) == len(want) + 1 + include_usage


def test_back_end_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path honours HTTP(S)_PROXY and NO_PROXY as httpx did, and nothing else that merely
    ends in _PROXY."""
    from deploy.assistant.fastpath import env_proxy

    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RAY_SERVE_ENABLE_HA_PROXY", "1")
    assert env_proxy("https://api.openai.com/v1") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,vllm.internal")
    assert env_proxy("https://api.openai.com/v1") == "http://proxy.internal:3128"
    assert env_proxy("https://vllm.internal/v1") is None
    assert env_proxy("http://api.openai.com/v1") is None
