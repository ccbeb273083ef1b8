"""Nothing silently dropped: OpenAI's fields reach a native OpenAI-compatible back end (and what
they add to the answer comes back), are implemented (response_format, legacy functions), or are
refused with a 400 naming them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from misbehaving import LOGPROBS, MisbehavingServer

from deploy.assistant.config import AssistantConfig
from msagent.testing import FakeDashScopeServer, FakeOpenAIServer, FakeReply

USER = [{"role": "user", "content": "海淀区天气"}]
WEATHER = {"name": "amap_weather", "description": "amap weather tool",
           "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}
CALL = FakeReply(tool_calls=[{"name": "amap_weather", "arguments": {"location": "海淀区"}}])
PASSED = {
    "logprobs": True, "top_logprobs": 2, "user": "u-1", "metadata": {"team": "a"}, "logit_bias": {"50256": -100},
    "reasoning_effort": "low", "service_tier": "flex", "store": True,
    "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}},
}


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="sk-client", max_retries=0)


@pytest.fixture
def relay(serve_api: Any, tmp_path: Any) -> Iterator[tuple[MisbehavingServer, str]]:
    with MisbehavingServer() as fake:
        config = AssistantConfig(model_server="openai", api_base=fake.base_url, api_key="sk", knowledge_dir=str(tmp_path))
        with serve_api(config) as url:
            yield fake, url


def test_native_back_end_gets_every_field_and_its_answer_comes_back(relay: tuple[MisbehavingServer, str]) -> None:
    fake, url = relay
    done = _client(url).chat.completions.create(
        model="m", messages=USER, extra_body={"top_k": 5, "repetition_penalty": 1.1}, **PASSED  # type: ignore[arg-type]
    )
    sent = fake.requests[-1]
    assert {k: sent[k] for k in PASSED} == PASSED
    assert (sent["top_k"], sent["repetition_penalty"]) == (5, 1.1)  # vLLM's extras too
    assert done.choices[0].logprobs is not None and done.choices[0].logprobs.model_dump() == LOGPROBS
    assert done.service_tier == "default"
    stream = _client(url).chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True}, user="u-2")  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "The answer is 42."
    assert fake.requests[-1]["stream_options"] == {"include_usage": True} and fake.requests[-1]["user"] == "u-2"


def test_relayed_requests_get_the_same_checks(relay: tuple[MisbehavingServer, str]) -> None:
    """The relay's requests skip FastAPI (deploy/assistant/fastroute.py): what they cannot take still
    gets FastAPI's 400 naming the field, and a back end's error its status."""
    fake, url = relay
    for body, param in (({"messages": []}, "messages"), ({"messages": USER, "temperature": 9}, "temperature"),
                        ({"messages": USER, "tool_choice": "required"}, "tool_choice")):
        r = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)
        assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
    r = httpx.post(f"{url}/v1/chat/completions/", json={"model": "m", "messages": USER}, timeout=30)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "ok", r.text
    assert fake.headers[-1]["authorization"] == "Bearer sk"
    httpx.post(f"{url}/v1/chat/completions", json={"model": "m", "messages": USER}, headers={"Authorization": "Bearer sk-mine"})
    assert fake.headers[-1]["authorization"] == "Bearer sk-mine"


def test_prompt_protocol_refuses_what_would_shape_the_answer(serve_api: Any, tmp_path: Any) -> None:
    with FakeOpenAIServer(replies=["sunny"], cycle=True) as fake:
        config = AssistantConfig(model_server="openai", api_base=fake.base_url, native_tool_calling=False,
                                 knowledge_dir=str(tmp_path))
        with serve_api(config) as url:
            tools = [{"type": "function", "function": WEATHER}]
            with pytest.raises(openai.BadRequestError) as e:
                _client(url).chat.completions.create(model="m", messages=USER, tools=tools, logprobs=True)  # type: ignore[arg-type]
            assert e.value.body["param"] == "logprobs"  # type: ignore[index]
            assert "prompt-based function calling" in e.value.body["message"]  # type: ignore[index]
            # request-only fields still go to the server
            _client(url).chat.completions.create(model="m", messages=USER, tools=tools, user="u-3", logprobs=False)  # type: ignore[arg-type]
            assert fake.requests[-1]["user"] == "u-3" and "logprobs" not in fake.requests[-1]


def test_dashscope_refuses_openai_only_fields_and_takes_its_own(serve_api: Any, tmp_path: Any) -> None:
    with FakeDashScopeServer(replies=["通义"], cycle=True) as fake:
        config = AssistantConfig(model_server="dashscope", api_base=fake.base_url, api_key="sk-ds", model="qwen-max",
                                 knowledge_dir=str(tmp_path))
        with serve_api(config) as url:
            for field, value in (("user", "u"), ("metadata", {"a": "b"}), ("logprobs", True), ("store", True)):
                r = httpx.post(f"{url}/v1/chat/completions", json={"messages": USER, field: value}, timeout=30)
                assert r.status_code == 400 and r.json()["error"]["param"] == field, r.text
            r = httpx.post(f"{url}/v1/chat/completions", json={"messages": USER, "store": False, "enable_search": True},
                           timeout=30)
            assert r.status_code == 200, r.text
            assert fake.requests[-1]["parameters"]["enable_search"] is True


def test_other_back_ends_refuse_unknown_fields(scripted_url: str) -> None:
    r = httpx.post(f"{scripted_url}/v1/chat/completions", json={"messages": USER, "top_k": 3}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["param"] == "top_k"
    r = httpx.post(f"{scripted_url}/v1/chat/completions", json={"messages": [{**USER[0], "audio": {"id": "x"}}]},
                   timeout=30)
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages[0].audio"
    echoed = [*USER, {"role": "assistant", "content": "hi", "refusal": None, "annotations": []}, *USER]
    assert httpx.post(f"{scripted_url}/v1/chat/completions", json={"messages": echoed}, timeout=30).status_code == 200


def test_legacy_functions_through_a_native_back_end(serve_api: Any, tmp_path: Any) -> None:
    with FakeOpenAIServer(replies=[CALL], cycle=True) as fake:
        config = AssistantConfig(model_server="openai", api_base=fake.base_url, knowledge_dir=str(tmp_path))
        with serve_api(config) as url:
            done = _client(url).chat.completions.create(model="m", messages=USER, functions=[WEATHER])  # type: ignore[arg-type,list-item]
            assert fake.requests[-1]["tools"] == [{"type": "function", "function": WEATHER}]
            choice = done.choices[0]
            assert choice.finish_reason == "function_call" and choice.message.tool_calls is None
            assert choice.message.function_call is not None and choice.message.function_call.name == "amap_weather"
            assert json.loads(choice.message.function_call.arguments) == {"location": "海淀区"}
            chunks = list(_client(url).chat.completions.create(
                model="m", messages=USER, functions=[WEATHER], function_call={"name": "amap_weather"}, stream=True))  # type: ignore[arg-type,list-item]
            assert fake.requests[-1]["tool_choice"] == {"type": "function", "function": {"name": "amap_weather"}}
            args = "".join(c.choices[0].delta.function_call.arguments or "" for c in chunks
                           if c.choices and c.choices[0].delta.function_call)
            assert json.loads(args) == {"location": "海淀区"}
            assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["function_call"]
            # a legacy history: the call and its result are linked by one id on the way to the back end
            history = [*USER, {"role": "assistant", "content": None,
                               "function_call": {"name": "amap_weather", "arguments": '{"location": "海淀区"}'}},
                       {"role": "function", "name": "amap_weather", "content": "sunny"}]
            _client(url).chat.completions.create(model="m", messages=history, functions=[WEATHER])  # type: ignore[arg-type,list-item]
            sent = fake.requests[-1]["messages"]
            assert sent[1]["tool_calls"][0]["function"]["name"] == "amap_weather"
            assert sent[2]["role"] == "tool" and sent[2]["tool_call_id"] == sent[1]["tool_calls"][0]["id"]


def test_legacy_functions_through_the_prompt_protocol(serve_api: Any, make_scripted: Any, tmp_path: Any) -> None:
    with serve_api(make_scripted([{"text": "", "tool_calls": [{"name": "amap_weather", "arguments": {"location": "x"}},
                                                              {"name": "amap_weather", "arguments": {"location": "y"}}]}],
                                 tmp_path)) as url:
        done = httpx.post(f"{url}/v1/chat/completions", json={"messages": USER, "functions": [WEATHER]}, timeout=30).json()
        message = done["choices"][0]["message"]
        assert done["choices"][0]["finish_reason"] == "function_call" and "tool_calls" not in message
        assert json.loads(message["function_call"]["arguments"]) == {"location": "x"}  # one call, as the API had


@pytest.mark.parametrize(("body", "param"), [
    ({"functions": [WEATHER], "tools": [{"type": "function", "function": WEATHER}]}, "functions"),
    ({"function_call": "auto"}, "function_call"),
    ({"functions": [WEATHER], "tool_choice": "auto"}, "tool_choice"),
    ({"response_format": {"type": "json_schema"}}, "response_format.json_schema"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "a b"}}}, "response_format.json_schema.name"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": 7}}}},
     "response_format.json_schema.schema"),
    ({"response_format": {"type": "xml"}}, "response_format.type"),
])
def test_bad_legacy_and_format_requests_name_the_field(scripted_url: str, body: dict, param: str) -> None:
    r = httpx.post(f"{scripted_url}/v1/chat/completions", json={"messages": USER, **body}, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param, r.text
