"""response_format where the back end cannot enforce it (prompt-based function calling, DashScope):
asked for in the prompt, checked, asked once more with what was wrong, else a 502 naming it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from deploy.assistant.config import AssistantConfig
from msagent.testing import FakeDashScopeServer, FakeOpenAIServer

USER = [{"role": "user", "content": "北京天气, as JSON"}]
TOOLS = [{"type": "function", "function": {"name": "amap_weather", "description": "weather",
                                           "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
          "required": ["city", "temp"], "additionalProperties": False}
FORMAT = {"type": "json_schema", "json_schema": {"name": "weather", "schema": SCHEMA, "strict": True}}


def _prompt_server(serve_api: Any, tmp_path: Any, replies: list[str]) -> Any:
    """A fake OpenAI-compatible server behind the prompt protocol (tools given, no native calls)."""
    fake = FakeOpenAIServer(replies=replies)
    config = AssistantConfig(model_server="openai", api_base=f"http://127.0.0.1:{fake.start().port}/v1",
                             native_tool_calling=False, knowledge_dir=str(tmp_path))
    return fake, serve_api(config)


def _system(body: dict[str, Any]) -> str:
    return str(body["messages"][0]["content"]) if body["messages"][0]["role"] == "system" else ""


def test_json_schema_checked_and_asked_again(serve_api: Any, tmp_path: Any) -> None:
    fake, serving = _prompt_server(serve_api, tmp_path, ['{"city": "北京"}', '```json\n{"city": "北京", "temp": 21.5}\n```'])
    with fake, serving as url:
        done = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0).chat.completions.create(
            model="m", messages=USER, tools=TOOLS, response_format=FORMAT)  # type: ignore[arg-type]
        assert json.loads(done.choices[0].message.content or "") == {"city": "北京", "temp": 21.5}
        first, second = fake.requests
        assert "response_format" not in first  # the prompt asks for it; the server never sees the field
        assert "JSON schema (weather)" in _system(first) and '"required": ["city", "temp"]' in _system(first)
        correction = second["messages"][-1]["content"]
        assert "does not match the schema" in correction and "temp" in correction
        assert done.usage is not None and done.usage.total_tokens > 0


def test_two_failures_are_a_502_naming_them(serve_api: Any, tmp_path: Any) -> None:
    fake, serving = _prompt_server(serve_api, tmp_path, ["It is sunny.", "Still sunny, sorry."] * 2)
    with fake, serving as url:
        for stream in (False, True):
            r = httpx.post(f"{url}/v1/chat/completions", timeout=30,
                           json={"model": "m", "messages": USER, "tools": TOOLS, "stream": stream,
                                 "response_format": {"type": "json_object"}})
            assert r.status_code == 502, r.text
            assert "response_format (json_object)" in r.json()["error"]["message"]
            assert "not valid JSON" in r.json()["error"]["message"]


def test_stream_carries_the_checked_answer(serve_api: Any, tmp_path: Any) -> None:
    fake, serving = _prompt_server(serve_api, tmp_path, ['{"city": "北京", "temp": 3}'])
    with fake, serving as url:
        stream = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0).chat.completions.create(
            model="m", messages=USER, tools=TOOLS, response_format=FORMAT, stream=True)  # type: ignore[arg-type]
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert json.loads(text) == {"city": "北京", "temp": 3}


@pytest.mark.parametrize("fmt", [{"type": "json_object"}, FORMAT])
def test_dashscope_gets_the_format_by_prompt(serve_api: Any, tmp_path: Any, fmt: dict[str, Any]) -> None:
    with FakeDashScopeServer(replies=['{"city": "上海", "temp": 30}'], cycle=True) as fake:
        config = AssistantConfig(model_server="dashscope", api_base=fake.base_url, api_key="sk", model="qwen-max",
                                 knowledge_dir=str(tmp_path))
        with serve_api(config) as url:
            r = httpx.post(f"{url}/v1/chat/completions", json={"messages": USER, "response_format": fmt}, timeout=30)
            assert r.status_code == 200, r.text
            assert json.loads(r.json()["choices"][0]["message"]["content"]) == {"city": "上海", "temp": 30}
            system = fake.requests[-1]["input"]["messages"][0]
            assert system["role"] == "system" and "one JSON object" in system["content"]
