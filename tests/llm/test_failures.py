"""Retries, typed errors, keys and timeouts, through the real SDKs against the fake servers."""

from __future__ import annotations

import pickle
import socket
import time

import pytest

from msagent.errors import (
    ConfigError,
    MissingApiKeyError,
    ModelAuthError,
    ModelError,
    ModelTimeoutError,
    ModelUnreachableError,
)
from msagent.llm.events import FinishEvent, TextDelta
from msagent.llm.openai_compat import OpenAICompatModel
from msagent.llm.registry import get_chat_model
from msagent.llm.retry import with_retries
from msagent.schemas import Message
from msagent.testing import FakeOpenAIServer, FakeReply

from .conftest import Backend

USER = [Message(role="user", content="hello")]


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("stream", [True, False])
def test_retryable_status_then_success(backend: Backend, serve, status: int, stream: bool) -> None:
    server = serve(FakeReply(status=status), FakeReply(status=status), FakeReply(text="finally"))
    text = "".join(
        e.text for e in backend.model(server).chat(USER, stream=stream) if isinstance(e, TextDelta)
    )
    assert text == "finally"
    assert len(server.requests) == 3


def test_retries_give_up_after_max(backend: Backend, serve) -> None:
    server = serve(FakeReply(status=500, error_message="boom"), cycle=True)
    with pytest.raises(ModelError) as info:
        list(backend.model(server, max_retries=2).chat(USER))
    assert info.value.details["status_code"] == 500
    assert "boom" in info.value.message
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, ModelError), (401, ModelAuthError), (403, ModelAuthError), (404, ModelError)],
)
def test_client_errors_not_retried(backend: Backend, serve, status: int, error_type: type) -> None:
    server = serve(FakeReply(status=status, error_message="nope"), FakeReply(text="never"))
    with pytest.raises(error_type) as info:
        list(backend.model(server).chat(USER))
    assert type(info.value) is error_type
    assert info.value.details["status_code"] == status
    assert len(server.requests) == 1


def test_api_key_never_in_messages(backend: Backend, serve) -> None:
    server = serve(FakeReply(status=401, error_message="Incorrect API key provided: sk-test-key-123"))
    with pytest.raises(ModelAuthError) as info:
        list(backend.model(server).chat(USER))
    assert "sk-test-key-123" not in str(info.value)
    assert "sk-test-key-123" not in repr(pickle.loads(pickle.dumps(info.value)).details)


def test_unreachable_server(backend: Backend) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there

    class Nowhere:
        base_url = f"http://127.0.0.1:{port}/v1"

    with pytest.raises(ModelUnreachableError) as info:
        list(backend.model(Nowhere(), max_retries=1).chat(USER))  # type: ignore[arg-type]
    assert f"127.0.0.1:{port}" in info.value.message
    assert "api_base" in info.value.message


def test_hang_past_timeout(backend: Backend, serve) -> None:
    server = serve(FakeReply(text="late", hang_s=3.0), FakeReply(text="never"))
    with pytest.raises(ModelTimeoutError) as info:
        list(backend.model(server, timeout=0.5).chat(USER, stream=False))
    assert "0.5" in info.value.message
    assert len(server.requests) == 1  # timeouts are not retried: the wait would multiply


def test_errors_pickle(backend: Backend, serve) -> None:
    server = serve(FakeReply(status=429, error_message="slow down"), cycle=True)
    with pytest.raises(ModelError) as info:
        list(backend.model(server, max_retries=0).chat(USER))
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is type(info.value)
    assert copy.message == info.value.message
    assert copy.details["status_code"] == 429


def test_missing_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "OPENAI_API_BASE", "DASHSCOPE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(MissingApiKeyError, match="OPENAI_API_KEY"):
        get_chat_model({"model": "gpt-4o-mini", "model_server": "openai"})
    with pytest.raises(MissingApiKeyError, match="DASHSCOPE_API_KEY"):
        get_chat_model({"model": "qwen-max", "model_server": "dashscope"})
    err = pickle.loads(pickle.dumps(MissingApiKeyError("set OPENAI_API_KEY")))
    assert isinstance(err, MissingApiKeyError)


def test_keys_and_bases_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer(["from env"]) as server:
        monkeypatch.setenv("OPENAI_API_BASE", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
        model = get_chat_model({"model": "m", "model_server": "vllm"})
        assert model.chat_text(USER) == "from env"
        assert server.headers[0]["authorization"] == "Bearer sk-env"


def test_local_server_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAIServer(["local"]) as server:
        for name in ("ollama", "llama.cpp", "llamacpp", "vllm-server", "openai-compatible"):
            assert isinstance(
                get_chat_model({"model": "m", "model_server": name, "api_base": server.base_url}),
                OpenAICompatModel,
            )
        model = get_chat_model({"model": "m", "model_server": server.base_url})  # Qwen-Agent's URL form
        assert model.chat_text(USER) == "local"
        assert server.headers[0]["authorization"] == "Bearer EMPTY"


def test_no_retry_after_first_event() -> None:
    attempts = []

    def call():
        attempts.append(1)
        yield TextDelta(text="partial")
        raise ModelError("dropped mid-stream", status_code=503)

    events = []
    with pytest.raises(ModelError):
        for event in with_retries(call, max_retries=3, base_delay_s=0.0):
            events.append(event)
    assert len(attempts) == 1 and [e.text for e in events] == ["partial"]  # type: ignore[union-attr]

    def fine():
        yield FinishEvent()

    assert list(with_retries(fine, max_retries=0)) == [FinishEvent()]


def test_stream_stalls_past_timeout(backend: Backend, serve) -> None:
    server = serve(FakeReply(text="slow words here", chunk_delay_s=2.0), FakeReply(text="never"))
    seen = []
    with pytest.raises(ModelTimeoutError):
        for event in backend.model(server, timeout=0.5).chat(USER, stream=True):
            seen.append(event)
    assert [e.text for e in seen] == ["slow"]  # the first word came; nothing repeated
    assert len(server.requests) == 1


def test_bad_config_and_tool_choice(backend: Backend, serve) -> None:
    server = serve("ok")
    with pytest.raises(ConfigError, match="model"):
        backend.model(server, model="")
    tools = [{"name": "add", "parameters": {"type": "object", "properties": {}}}]
    with pytest.raises(ConfigError, match="'sub'"):
        backend.model(server).chat(USER, tools=tools, tool_choice="sub")
    assert server.requests == []


def test_retry_after_is_honoured(backend: Backend, serve) -> None:
    server = serve(FakeReply(status=429, retry_after_s=0.6), FakeReply(text="ok"))
    start = time.perf_counter()
    assert backend.model(server).chat_text(USER) == "ok"
    assert time.perf_counter() - start >= 0.6  # the base delay is 0.01 s: the header set the wait
    assert len(server.requests) == 2
