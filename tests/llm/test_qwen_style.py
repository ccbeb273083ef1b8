"""Qwen-Agent's call shape on both wires: ``chat(messages=[dict], functions=[...], stream=...)``
answers lists of message dicts; calls show while they stream; bad combinations are clear errors."""

from __future__ import annotations

import json

import pytest

from msagent.errors import ConfigError
from msagent.llm import get_chat_model
from msagent.testing import FakeOpenAIServer, FakeReply

from .conftest import Backend

LIST_FORM = [{"name": "my_image_gen", "description": "draw", "parameters": [
    {"name": "prompt", "type": "string", "description": "what to draw", "required": True}]}]  # fmt: skip
SCHEMA_FORM = [{"name": "my_image_gen", "description": "draw", "parameters": {
    "type": "object", "properties": {"prompt": {"type": "string", "description": "what to draw"}},
    "required": ["prompt"]}}]  # fmt: skip
USER = [{"role": "user", "content": "draw a dog"}]
CALL = {"name": "my_image_gen", "arguments": {"prompt": "a dog on grass"}}
EXPECTED = [{"role": "assistant", "content": "", "function_call": {"name": "my_image_gen", "arguments": '{"prompt": "a dog on grass"}'}}]


@pytest.mark.parametrize("functions", [LIST_FORM, SCHEMA_FORM], ids=["list", "schema"])
def test_native_calls_as_function_call_dicts(backend: Backend, serve, functions: list) -> None:
    server = serve(FakeReply(tool_calls=[CALL]), FakeReply(tool_calls=[CALL]))
    model = backend.model(server)
    assert model.chat(messages=USER, functions=functions, stream=False) == EXPECTED
    streamed = list(model.chat(messages=USER, functions=functions, stream=True))
    assert streamed[-1] == EXPECTED
    # the call shows while it streams: the name first, the arguments growing
    args = [r[0]["function_call"]["arguments"] for r in streamed]
    assert all(r[0]["function_call"]["name"] == "my_image_gen" for r in streamed)
    assert args[0] == "" and len(set(args)) > 2 and args == sorted(args, key=len)
    # both forms reach the wire as the same JSON schema
    sent = [t["function"]["parameters"] for body in server.requests for t in (body.get("tools") or
            body.get("parameters", {}).get("tools") or [])]  # fmt: skip
    assert sent and all(p == SCHEMA_FORM[0]["parameters"] for p in sent)


def test_text_answers_grow_and_history_dicts_round_trip(backend: Backend, serve) -> None:
    server = serve(FakeReply(text="a brown dog"))
    history = [*USER, {"role": "assistant", "content": "", "function_call": {"name": "my_image_gen", "arguments": '{"prompt": "dog"}'}},
               {"role": "function", "name": "my_image_gen", "content": "image/dog"}]  # fmt: skip
    streamed = list(backend.model(server).chat(messages=history, functions=LIST_FORM, stream=True))
    assert [r[0]["content"] for r in streamed] == ["a", "a brown", "a brown dog"]
    sent = backend.messages(server.requests[0])
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[2]["content"] == "image/dog" and sent[2]["tool_call_id"] == sent[1]["tool_calls"][0]["id"]


def test_a_url_server_gets_the_qwen_prompt_unless_native_is_asked() -> None:
    text = '✿FUNCTION✿: my_image_gen\n✿ARGS✿: {"prompt":"a dog"}\n✿RESULT✿: invented'
    with FakeOpenAIServer(replies=[text, FakeReply(tool_calls=[CALL])]) as server:
        prompted = get_chat_model({"model": "m", "model_server": server.base_url, "api_key": "EMPTY"})
        got = prompted.chat(messages=USER, functions=LIST_FORM, stream=False)
        assert got == [{"role": "assistant", "content": "", "function_call": {"name": "my_image_gen", "arguments": '{"prompt":"a dog"}'}}]
        native = get_chat_model({"model": "m", "model_server": server.base_url, "native_tool_calling": True})
        assert native.chat(messages=USER, functions=LIST_FORM, stream=False) == EXPECTED
        first, second = server.requests
    assert "tools" not in first and first["stop"] == ["✿RESULT✿", "✿RETURN✿"]
    assert first["messages"][0]["content"].startswith("# Tools\n\n## You have access to the following tools:")
    assert second["tools"][0]["function"]["name"] == "my_image_gen" and "stop" not in second


def test_generate_cfg_keys_steer_calls_and_never_reach_the_wire() -> None:
    with FakeOpenAIServer(replies=[FakeReply(tool_calls=[CALL])], cycle=True) as server:
        cfg = {"model": "m", "model_server": "openai", "api_base": server.base_url, "api_key": "k",
               "generate_cfg": {"parallel_function_calls": False, "top_k": 5, "function_choice": "my_image_gen"}}  # fmt: skip
        model = get_chat_model(cfg)
        model.chat(messages=USER, functions=LIST_FORM, stream=False)
        model.chat(messages=USER, functions=LIST_FORM, stream=False, extra_generate_cfg={"function_choice": "auto"})
        first, second = server.requests
    assert first["parallel_tool_calls"] is False and first["top_k"] == 5
    assert first["tool_choice"] == {"type": "function", "function": {"name": "my_image_gen"}}
    assert second["tool_choice"] == "auto"
    assert not {"parallel_function_calls", "function_choice"} & set(json.dumps(first).split('"'))


def test_bad_calls_are_config_errors() -> None:
    model = get_chat_model({"model": "m", "model_server": "http://127.0.0.1:9/v1"})
    with pytest.raises(ConfigError, match="not both"):
        model.chat(messages=USER, functions=LIST_FORM, tools=LIST_FORM)
    with pytest.raises(ConfigError, match="delta_stream"):
        model.chat(messages=USER, functions=LIST_FORM, delta_stream=True)
    with pytest.raises(ConfigError, match="messages is empty"):
        model.chat(messages=[], functions=LIST_FORM)
    with pytest.raises(ConfigError, match="fncall_prompt 'nous'"):
        get_chat_model({"model": "m", "model_server": "openai", "generate_cfg": {"fncall_prompt_type": "nous"}})
