"""Helpers of the AgentScope tests (a module of its own: test modules import it by name)."""

from __future__ import annotations

from typing import Any

from msagent.testing import FakeOpenAIServer


def echo_reply(body: dict[str, Any]) -> str:
    """A deterministic model: it repeats the last message it was sent, so tests can follow who
    heard what (``echo[<last content>]``)."""
    messages = body.get("messages") or [{}]
    return f"echo[{messages[-1].get('content')}]"


def chat_config(server: FakeOpenAIServer, name: str = "echo", **extra: Any) -> dict[str, Any]:
    return {
        "config_name": name,
        "model_type": "openai",
        "model_name": "fake-model",
        "api_key": "sk-test",
        "client_args": {"base_url": server.base_url},
        **extra,
    }
