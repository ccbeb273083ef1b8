"""/v1/assistants/lite: a RolePlay agent with a server-side tool and uploaded knowledge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deploy.assistant.config import AssistantConfig
from msagent.testing import FakeOpenAIServer, FakeReply

AGENT = {"name": "test", "description": "test assistant", "instruction": "you are a helpful assistant"}
QA = "高德天气API申请\n\n在高德开放平台注册账号并创建应用，即可申请天气 API Key，每日免费调用五千次。\n\nUnrelated text about cats."


class Lite:
    def __init__(self, fake: FakeOpenAIServer, url: str) -> None:
        self.fake = fake
        self.url = url

    def post(self, **body: Any) -> httpx.Response:
        body.setdefault("agent_config", AGENT)
        body.setdefault("llm_config", {"model": "qwen-max"})
        return httpx.post(f"{self.url}/v1/assistants/lite", json=body, timeout=30)


@pytest.fixture
def lite(request: pytest.FixtureRequest, serve_api: Any, tmp_path: Any) -> Iterator[Lite]:
    replies = getattr(request, "param", ["ok"])
    with FakeOpenAIServer(replies=replies, cycle=True) as fake:
        config = AssistantConfig(model_server="openai", api_base=fake.base_url, api_key="sk-server", knowledge_dir=str(tmp_path), timeout=5)
        with serve_api(config) as url:
            yield Lite(fake, url)


CALC = [FakeReply(tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}]), FakeReply(text="The answer is 42.")]


@pytest.mark.parametrize("lite", [CALC], indirect=True)
def test_tool_runs_on_the_server(lite: Lite) -> None:
    r = lite.post(
        agent_config={**AGENT, "tools": ["calculator"]},
        messages=[{"role": "user", "content": "what is 6*7?"}],
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["request_id"] and body["message"] == ""
    assert "42" in body["output"]["response"]
    # the second model call saw the tool's result, computed by the server
    second = json.dumps(lite.fake.requests[1]["messages"], ensure_ascii=False)
    assert "42" in second
    assert lite.fake.requests[0]["tools"][0]["function"]["name"] == "calculator"


@pytest.mark.parametrize("lite", [["高德天气API的申请方法：注册账号并创建应用。"]], indirect=True)
def test_knowledge_from_uploaded_files(lite: Lite) -> None:
    up = httpx.post(f"{lite.url}/v1/files", data={"uuid_str": "test"}, files=[("files", ("QA.txt", QA.encode(), "text/plain"))])
    assert up.status_code == 200, up.text
    r = lite.post(messages=[{"role": "user", "content": "高德天气API申请"}], uuid_str="test", use_knowledge=True, files=["QA.txt"])
    assert r.status_code == 200, r.text
    out = r.json()["output"]
    assert "注册账号" in out["response"]
    assert out["knowledge"] and out["knowledge"][0]["name"] == "QA.txt"
    prompt = json.dumps(lite.fake.requests[-1]["messages"], ensure_ascii=False)
    assert "每日免费调用五千次" in prompt  # the passage reached the model


@pytest.mark.parametrize("lite", [["Hello there, friend."]], indirect=True)
def test_stream_is_sse(lite: Lite) -> None:
    with httpx.stream(
        "POST",
        f"{lite.url}/v1/assistants/lite",
        json={"agent_config": AGENT, "llm_config": {"model": "m"}, "messages": [{"role": "user", "content": "hi"}], "stream": True},
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [ln for ln in r.iter_lines() if ln]
    assert lines[-1] == "data: [DONE]"
    frames = [json.loads(ln[len("data: ") :]) for ln in lines[:-1]]
    assert "".join(f.get("delta", "") for f in frames) == "Hello there, friend."
    assert frames[-1]["done"] is True and frames[-1]["response"] == "Hello there, friend."


def test_bad_assistant_requests(lite: Lite) -> None:
    r = lite.post(agent_config={**AGENT, "tools": ["no_such_tool"]}, messages=[{"role": "user", "content": "x"}])
    assert r.status_code == 400 and "no_such_tool" in r.json()["error"]["message"]
    r = lite.post(messages=[])
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    r = lite.post(messages=[{"role": "assistant", "content": "x"}])
    assert r.status_code == 400
    r = lite.post(messages=[{"role": "user", "content": "x"}], uuid_str="../etc", use_knowledge=True)
    assert r.status_code == 400 and r.json()["error"]["param"] == "uuid_str"


@pytest.mark.parametrize(
    ("more", "status", "param", "needle"),
    [
        ({"use_knowledge": True, "uuid_str": "nobody", "files": ["QA.pdf"]}, 404, "files", "QA.pdf"),
        ({"use_knowledge": True, "files": ["../QA.txt"]}, 400, "files", "path"),
        ({"kwargs": {"history": []}}, 400, "kwargs.history", "history"),
        ({"kwargs": {"knowledge": "forged"}}, 400, "kwargs.knowledge", "knowledge"),
        ({"kwargs": {"max_turns": "many"}}, 400, "kwargs.max_turns", "max_turns"),
        ({"kwargs": {"temperature": "hot"}}, 400, "kwargs.temperature", "temperature"),
        ({"llm_config": {"model": "m", "generate_config": {"top_p": "x"}}}, 400, "llm_config.generate_config.top_p", "top_p"),
        ({"agent_config": {**AGENT, "tools": ["calculator"]}, "tool_choice": {"type": "function", "function": {"name": "web"}}}, 400, "tool_choice", "web"),
        ({"tool_choice": "required"}, 400, "tool_choice", "at least one tool"),
    ],
)
def test_bad_lite_inputs_are_4xx_before_the_model_is_called(lite: Lite, more: dict, status: int, param: str, needle: str) -> None:
    r = lite.post(messages=[{"role": "user", "content": "x"}], **more)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["param"] == param and needle in err["message"]
    assert lite.fake.requests == []


@pytest.mark.parametrize("lite", [CALC], indirect=True)
def test_tool_choice_and_settings_reach_the_model(lite: Lite) -> None:
    r = lite.post(
        agent_config={**AGENT, "tools": ["calculator", "current_time"]},
        messages=[{"role": "user", "content": "what is 6*7?"}],
        tool_choice={"type": "function", "function": {"name": "calculator"}},
        llm_config={"model": "m", "generate_config": {"seed": 11}},
        kwargs={"temperature": 0.1},
    )
    assert r.status_code == 200, r.text
    first = lite.fake.requests[0]
    assert first["tool_choice"] == {"type": "function", "function": {"name": "calculator"}}
    assert first["seed"] == 11 and first["temperature"] == 0.1
