"""Both HTTP back-ends behind one fixture: each test runs against OpenAI's and DashScope's wire."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from msagent.llm.base import ChatModel
from msagent.llm.registry import get_chat_model
from msagent.testing import FakeDashScopeServer, FakeOpenAIServer
from msagent.testing.http import BackgroundServer


@dataclass
class Backend:
    name: str
    server_class: type[FakeOpenAIServer] | type[FakeDashScopeServer]

    def model(self, server: BackgroundServer, **config: Any) -> ChatModel:
        base = {
            "model": "fake-model",
            "model_server": self.name,
            "api_key": "sk-test-key-123",
            "api_base": server.base_url,
            "retry_base_delay_s": 0.01,
            "timeout": 5.0,
        }  # type: ignore[attr-defined]
        return get_chat_model({**base, **config})

    def params(self, body: dict[str, Any]) -> dict[str, Any]:
        """The generation settings of a request body, wherever this wire puts them."""
        return body if self.name == "openai" else body.get("parameters", {})

    def messages(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        return body["messages"] if self.name == "openai" else body["input"]["messages"]


BACKENDS = [Backend("openai", FakeOpenAIServer), Backend("dashscope", FakeDashScopeServer)]


@pytest.fixture(params=BACKENDS, ids=lambda b: b.name)
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param


@pytest.fixture
def serve(backend: Backend) -> Any:
    """``serve(replies...)`` starts a fake server for this back-end and stops it after the test."""
    started: list[BackgroundServer] = []

    def start(*replies: Any, **kwargs: Any) -> Any:
        server = backend.server_class(list(replies) if replies else None, **kwargs)
        server.start()
        started.append(server)
        return server

    factory: Callable[..., Any] = start
    yield factory
    for server in started:
        server.stop()
