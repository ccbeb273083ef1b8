"""End to end through Ray Serve: the deployment, its HTTP proxy, the official SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from deploy.assistant.serve_app import assistant_app

pytestmark = pytest.mark.ray

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "amap_weather",
            "description": "amap weather tool",
            "parameters": [{"name": "location", "type": "string", "description": "city", "required": True}],
        },
    }
]


@pytest.fixture(scope="module")
def serve_url(serve_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from ray import serve

    from deploy.assistant.config import AssistantConfig

    reply = {"text": "Checking.", "tool_calls": [{"name": "amap_weather", "arguments": {"location": "北京"}}]}
    config = AssistantConfig(
        model_server="scripted",
        model="scripted",
        llm_extra={"replies": [reply], "cycle": True},
        knowledge_dir=str(tmp_path_factory.mktemp("serve-knowledge")),
    )
    serve.run(assistant_app(config), name="assistant-test", route_prefix="/assistant-test")
    yield f"http://127.0.0.1:{serve_port}/assistant-test"
    serve.delete("assistant-test")


def test_chat_through_serve(serve_url: str) -> None:
    client = openai.OpenAI(base_url=f"{serve_url}/v1", api_key="empty", max_retries=0)
    done = client.chat.completions.create(
        model="qwen-max", messages=[{"role": "user", "content": "北京天气"}], tools=TOOLS  # type: ignore[list-item]
    )
    assert done.choices[0].finish_reason == "tool_calls"
    call = done.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "amap_weather" and call.id  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"location": "北京"}  # type: ignore[union-attr]

    stream = client.chat.completions.create(
        model="qwen-max",
        messages=[{"role": "user", "content": "北京天气"}],
        tools=TOOLS,  # type: ignore[list-item]
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    args = "".join(
        tc.function.arguments or ""  # type: ignore[union-attr]
        for c in chunks
        if c.choices and c.choices[0].delta.tool_calls
        for tc in c.choices[0].delta.tool_calls
    )
    assert json.loads(args) == {"location": "北京"}


def test_async_client_through_serve(serve_url: str) -> None:
    async def main() -> tuple[Any, list[Any]]:
        client = openai.AsyncOpenAI(base_url=f"{serve_url}/v1", api_key="empty", max_retries=0)
        done = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "北京天气"}], tools=TOOLS)  # type: ignore[list-item]
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "北京天气"}], tools=TOOLS, stream=True  # type: ignore[list-item]
        )
        return done, [chunk async for chunk in stream]

    done, chunks = asyncio.run(main())
    assert done.choices[0].message.tool_calls[0].function.name == "amap_weather"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


def test_errors_and_docs_through_serve(serve_url: str) -> None:
    r = httpx.post(f"{serve_url}/v1/chat/completions", json={"model": "m", "messages": []})
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    assert httpx.get(f"{serve_url}/docs").status_code == 200
    paths = httpx.get(f"{serve_url}/openapi.json").json()["paths"]
    assert {"/v1/chat/completions", "/v1/assistants/lite", "/v1/files"} <= set(paths)


def test_files_through_serve(serve_url: str) -> None:
    r = httpx.post(
        f"{serve_url}/v1/files", data={"uuid_str": "serve"}, files=[("files", ("ms.txt", b"ModelScope hub", "text/plain"))]
    )
    assert r.status_code == 200, r.text
    found = httpx.get(f"{serve_url}/v1/files/search", params={"uuid_str": "serve", "query": "modelscope"}).json()
    assert found["output"]["passages"][0]["name"] == "ms.txt"


def test_config_file_deploys_through_serve(serve_port: int, tmp_path: Path) -> None:
    """The Serve config file as ``serve run``/``serve deploy`` read it: the schema validates, the
    import path resolves and Serve's own builder call makes an application, which then serves."""
    import yaml
    from ray import serve
    from ray._common.utils import import_attr
    from ray.serve._private.api import call_user_app_builder_with_args_if_necessary
    from ray.serve.schema import ServeDeploySchema

    raw: dict[str, Any] = yaml.safe_load((Path(__file__).parents[2] / "deploy/assistant/serve_config.yaml").read_text())
    schema = ServeDeploySchema.model_validate(raw)
    assert schema.http_options.port == 31512
    (app,) = schema.applications
    assert app.import_path == "deploy.assistant.serve_app:build" and app.route_prefix == "/"
    builder = import_attr(app.import_path)
    # the file's args, plus what this test needs: a scripted back-end, a private knowledge dir
    args = {
        **app.args,
        "model_server": "scripted",
        "model": "scripted",
        "llm_extra": {"replies": ["from the config file"], "cycle": True},
        "knowledge_dir": str(tmp_path),
        "native_tool_calling": "false",
        "num_replicas": 1,
    }
    built = call_user_app_builder_with_args_if_necessary(builder, args)
    serve.run(built, name="assistant-config", route_prefix="/assistant-config")
    try:
        url = f"http://127.0.0.1:{serve_port}/assistant-config"
        r = httpx.post(f"{url}/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "from the config file"
    finally:
        serve.delete("assistant-config")
