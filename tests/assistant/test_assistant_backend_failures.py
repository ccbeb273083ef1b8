"""Errors mean what happened: a back end that misbehaves on purpose (non-JSON, no choices, a stream
cut off, a bad frame, an error frame) gives a 502 or an in-stream error event, never a 500 or a
clean stop, on every way a request goes: the relay (native OpenAI-compatible), the SDK path
(prompt-based function calling over an OpenAI-compatible server, as with ``--model PATH.gguf``)
and DashScope. Bodies over the limit are 413; /v1/models asks the back end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from misbehaving import MisbehavingDashScope, MisbehavingServer

from deploy.assistant.config import AssistantConfig

USER = [{"role": "user", "content": "what is the answer?"}]
TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "look it up",
                                           "parameters": {"type": "object", "properties": {}}}}]
ROUTES = ("relay", "prompt", "dashscope")


@pytest.fixture
def backend(serve_api: Any, tmp_path: Any) -> Iterator[tuple[MisbehavingServer, str]]:
    with MisbehavingServer() as fake:
        config = AssistantConfig(model_server="openai", api_base=fake.base_url, api_key="sk", model="broken",
                                 knowledge_dir=str(tmp_path), timeout=10, max_request_bytes=4096)
        with serve_api(config) as url:
            yield fake, url


@pytest.fixture(params=ROUTES)
def route(request: Any, serve_api: Any, tmp_path: Any) -> Iterator[tuple[Any, str, dict[str, Any]]]:
    """(fake back end, the API's URL, what a request adds) for each way a request goes."""
    kind = request.param
    with (MisbehavingDashScope() if kind == "dashscope" else MisbehavingServer()) as fake:
        config = AssistantConfig(model_server="dashscope" if kind == "dashscope" else "openai", api_base=fake.base_url,
                                 api_key="sk", model="broken", knowledge_dir=str(tmp_path), timeout=10,
                                 native_tool_calling=False if kind == "prompt" else None)
        with serve_api(config) as url:
            yield fake, url, {"tools": TOOLS} if kind == "prompt" else {}


def _events(url: str, extra: dict[str, Any] | None = None) -> list[Any]:
    with httpx.stream("POST", f"{url}/v1/chat/completions", json={"messages": USER, "stream": True, **(extra or {})},
                      timeout=30) as r:
        assert r.status_code == 200
        lines = [ln for ln in r.iter_lines() if ln.startswith("data: ")]
    return [ln[6:] if ln == "data: [DONE]" else json.loads(ln[6:]) for ln in lines]


@pytest.mark.parametrize(("mode", "needle"), [("non_json", "not JSON"), ("no_choices", "no choices")])
def test_malformed_answer_is_502_saying_what(route: tuple[Any, str, dict[str, Any]], mode: str, needle: str) -> None:
    fake, url, extra = route
    fake.mode = mode
    r = httpx.post(f"{url}/v1/chat/completions", json={"messages": USER, **extra}, timeout=30)
    assert r.status_code == 502, r.text
    assert needle in r.json()["error"]["message"]
    with pytest.raises(openai.InternalServerError, match=needle):
        openai.OpenAI(base_url=f"{url}/v1", api_key="sk", max_retries=0).chat.completions.create(
            model="broken", messages=USER, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(("mode", "needle"), [
    ("cut_off", "broke mid-answer"),
    ("no_done", "cut off"),  # the body ends cleanly, before the finish reason
    ("bad_frame", "not JSON"),
    ("error_frame", "the GPU fell over"),
])
def test_broken_stream_ends_with_an_error_event(route: tuple[Any, str, dict[str, Any]], mode: str, needle: str) -> None:
    fake, url, extra = route
    fake.mode = mode
    events = _events(url, extra)
    assert "[DONE]" not in events  # never a clean end
    assert [e["choices"][0]["delta"].get("content") for e in events[:2]] == ["", "The answer is"]  # what came, came
    last = events[-1]
    assert set(last) == {"error"} and needle in last["error"]["message"], last
    assert last["error"]["type"] != "invalid_request_error"  # the back end's failure, not the caller's
    assert not any(c.get("finish_reason") for e in events[:-1] for c in e["choices"])
    # the SDK raises on it instead of returning a truncated answer
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk", max_retries=0)
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model="broken", messages=USER, stream=True, **extra))  # type: ignore[arg-type]


def test_a_whole_stream_ends_with_done(route: tuple[Any, str, dict[str, Any]]) -> None:
    _, url, extra = route
    events = _events(url, extra)
    assert events[-1] == "[DONE]" and events[-2]["choices"][0]["finish_reason"] == "stop"
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-1] if e["choices"]) == \
        "The answer is 42."


def test_body_over_the_limit_is_413(backend: tuple[MisbehavingServer, str]) -> None:
    fake, url = backend
    big = [{"role": "user", "content": "x" * 5000}]
    r = httpx.post(f"{url}/v1/chat/completions", json={"messages": big}, timeout=30)
    assert r.status_code == 413 and "4096-byte limit" in r.json()["error"]["message"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}]}'

    r = httpx.post(f"{url}/v1/chat/completions", content=chunked(), headers={"Content-Type": "application/json"},
                   timeout=30)
    assert r.status_code == 413, r.text
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert fake.requests == []  # nothing reached the back end
    assert httpx.post(f"{url}/v1/chat/completions", json={"messages": USER}, timeout=30).status_code == 200


def test_models_are_the_back_ends(backend: tuple[MisbehavingServer, str]) -> None:
    fake, url = backend
    ids = [m.id for m in openai.OpenAI(base_url=f"{url}/v1", api_key="sk", max_retries=0).models.list()]
    assert ids == ["broken-a", "broken-b"]


def test_models_of_an_unreachable_back_end_is_502(serve_api: Any, tmp_path: Any) -> None:
    from msagent.ports import free_port

    config = AssistantConfig(model_server="openai", api_base=f"http://127.0.0.1:{free_port()}/v1", model="m",
                             knowledge_dir=str(tmp_path), timeout=5)
    with serve_api(config) as url:
        r = httpx.get(f"{url}/v1/models", timeout=30)
        assert r.status_code == 502 and "unreachable" in r.json()["error"]["message"]


def test_models_of_other_back_ends_name_the_configured_model(scripted_url: str) -> None:
    data = httpx.get(f"{scripted_url}/v1/models", timeout=30).json()["data"]
    assert [m["id"] for m in data] == ["scripted"]
