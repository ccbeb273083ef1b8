"""The page's model picker: field checks, one tiny call against real (fake-server) back-ends, and
keys that never fall back to the server's own environment."""

from __future__ import annotations

import pytest

from apps.chatroom.picker import ModelChoice, probe, to_llm
from msagent.testing import FakeDashScopeServer, FakeOpenAIServer, FakeReply
from tests.conftest import free_port

LOCAL = {"model_server": "local", "model": ""}


def test_field_checks() -> None:
    assert to_llm(ModelChoice(kind="local"), LOCAL) == (LOCAL, {})
    llm, errors = to_llm(ModelChoice(kind="openai"), LOCAL)
    assert llm is None and set(errors) == {"base_url", "model"}
    _, errors = to_llm(ModelChoice(kind="openai", base_url="localhost:8000", model="m"), LOCAL)
    assert "http://" in errors["base_url"]
    _, errors = to_llm(ModelChoice(kind="dashscope"), LOCAL)
    assert errors == {"api_key": "DashScope needs an API key."}


def test_a_page_key_is_never_the_servers_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-operator")
    llm, _ = to_llm(ModelChoice(kind="openai", base_url="http://127.0.0.1:9/v1", model="m"), LOCAL)
    assert llm is not None and llm["api_key"] == "EMPTY"
    assert "sk-" not in repr(ModelChoice(kind="openai", api_key="sk-typed"))


def test_probe_an_openai_compatible_server_with_the_typed_key() -> None:
    with FakeOpenAIServer(replies=[FakeReply(text="OK")], cycle=True) as server:
        llm, _ = to_llm(ModelChoice(kind="openai", base_url=server.base_url, model="fake", api_key="sk-typed"), LOCAL)
        assert llm is not None
        ok, detail = probe(llm)
        assert ok and detail.startswith("answered in")
        assert server.headers[-1]["authorization"] == "Bearer sk-typed"


def test_probe_dashscope() -> None:
    with FakeDashScopeServer(replies=["OK"], cycle=True) as server:
        llm, _ = to_llm(ModelChoice(kind="dashscope", base_url=server.base_url, api_key="ds-typed"), LOCAL)
        assert llm is not None and llm["model"] == "qwen-max"
        ok, detail = probe(llm)
        assert ok, detail


def test_probe_failures_are_one_line() -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    llm, _ = to_llm(ModelChoice(kind="openai", base_url=dead, model="m"), LOCAL)
    assert llm is not None
    ok, detail = probe(llm, timeout=5)
    assert not ok and detail and "\n" not in detail
    with FakeOpenAIServer(replies=[FakeReply(status=401, text="bad key")], cycle=True) as server:
        llm, _ = to_llm(ModelChoice(kind="openai", base_url=server.base_url, model="m", api_key="x"), LOCAL)
        assert llm is not None
        ok, detail = probe(llm)
        assert not ok and "\n" not in detail
