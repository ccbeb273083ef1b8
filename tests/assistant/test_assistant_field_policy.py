"""Every field of OpenAI's chat-completions request, as the installed openai SDK sends it, has a policy
on every back-end kind: passed on (the back end receives it), implemented, or refused with a 400
naming it. A field the SDK adds later fails the first test until it gets a policy."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from misbehaving import MisbehavingDashScope, MisbehavingServer

from deploy.assistant import fields
from deploy.assistant.config import AssistantConfig
from deploy.assistant.models import ChatCompletionRequest

USER = [{"role": "user", "content": "hi"}]
TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "look it up",
                                           "parameters": {"type": "object", "properties": {}}}}]
TRANSPORT = {"self", "extra_headers", "extra_query", "extra_body", "timeout"}
# what each field's policy is, besides the pass-or-refuse ones of fields.py
IMPLEMENTED = {
    "messages", "model", "stream", "stream_options", "tools", "tool_choice", "parallel_tool_calls",  # every back end
    "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "presence_penalty",
    "frequency_penalty", "n",  # generation settings (n: 1 only, else a 400)
    "response_format", "functions", "function_call",  # structured.py, convert.py
}
SAMPLES: dict[str, Any] = {
    "logprobs": True, "top_logprobs": 2, "modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"},
    "user": "u-1", "metadata": {"team": "a"}, "store": True, "service_tier": "flex", "logit_bias": {"50256": -100},
    "reasoning_effort": "low", "prediction": {"type": "content", "content": "x"},
    "web_search_options": {"search_context_size": "low"}, "verbosity": "low", "prompt_cache_key": "k",
    "prompt_cache_options": {"ttl": "30m"}, "prompt_cache_retention": "24h", "safety_identifier": "s-1",
    "moderation": {"model": "omni-moderation-latest"},
}


def _sdk_fields() -> list[str]:
    from openai.resources.chat.completions import Completions

    return [n for n in inspect.signature(Completions.create).parameters if n not in TRANSPORT]


def test_every_sdk_field_has_a_policy() -> None:
    declared = set(ChatCompletionRequest.model_fields)
    policies = IMPLEMENTED | set(fields.REQUEST_ONLY) | set(fields.ANSWER_SHAPING)
    for name in _sdk_fields():
        assert name in declared, f"{name!r} is not declared: it would reach back ends as an unknown extra"
        assert name in policies, f"{name!r} has no policy"
    assert set(SAMPLES) == set(fields.REQUEST_ONLY) | set(fields.ANSWER_SHAPING)


@pytest.fixture(params=["relay", "prompt", "dashscope", "other"])
def kind(request: Any, serve_api: Any, make_scripted: Any, tmp_path: Any) -> Iterator[tuple[str, Any, str]]:
    if request.param == "other":  # the local / scripted kind: generation settings only
        with serve_api(make_scripted(["ok"], tmp_path)) as url:
            yield "other", None, url
        return
    dashscope = request.param == "dashscope"
    with (MisbehavingDashScope() if dashscope else MisbehavingServer()) as fake:
        config = AssistantConfig(model_server="dashscope" if dashscope else "openai", api_base=fake.base_url,
                                 api_key="sk", model="m", knowledge_dir=str(tmp_path),
                                 native_tool_calling=False if request.param == "prompt" else None)
        with serve_api(config) as url:
            yield request.param, fake, url


def test_every_field_is_passed_on_or_refused_by_name(kind: tuple[str, Any, str]) -> None:
    route, fake, url = kind
    extra = {"tools": TOOLS} if route == "prompt" else {}
    for name, value in SAMPLES.items():
        passes = route == "relay" or (route == "prompt" and name in fields.REQUEST_ONLY)
        r = httpx.post(f"{url}/v1/chat/completions", json={"messages": USER, **extra, name: value}, timeout=30)
        if passes:
            assert r.status_code == 200, (name, r.text)
            assert fake.requests[-1][name] == value, name  # it reached the back end as sent
        else:
            assert r.status_code == 400, (name, r.text)
            assert r.json()["error"]["param"] == name and name in r.json()["error"]["message"], r.text
    # a field's neutral value asks for nothing and is accepted everywhere
    for name, value in (("logprobs", False), ("store", False), ("service_tier", "auto"), ("n", 1)):
        r = httpx.post(f"{url}/v1/chat/completions", json={"messages": USER, **extra, name: value}, timeout=30)
        assert r.status_code == 200, (name, r.text)


def test_content_part_fields_are_not_dropped(scripted_url: str) -> None:
    part = {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}
    r = httpx.post(f"{scripted_url}/v1/chat/completions", json={"messages": [{"role": "user", "content": [part]}]},
                   timeout=30)
    assert r.status_code == 400 and "cache_control" in r.json()["error"]["message"], r.text
    assert r.json()["error"]["param"] == "messages[0].content"
