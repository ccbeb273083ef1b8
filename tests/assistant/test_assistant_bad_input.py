"""Every bad input is a 4xx with OpenAI's envelope; the official SDK raises its typed errors."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "amap_weather",
            "description": "amap weather tool",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
        },
    }
]
USER = [{"role": "user", "content": "weather?"}]


def _envelope(r: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["message"]
    return err  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("body", "param", "needle"),
    [
        ({"model": "m"}, "messages", "missing"),
        ({"model": "m", "messages": []}, "messages", "at least 1"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "role"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages[0].role", "missing"),
        ({"model": "m", "messages": USER, "tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice", "nope"),
        ({"model": "m", "messages": USER, "tool_choice": "required"}, "tool_choice", "at least one tool"),
        ({"model": "m", "messages": USER, "tool_choice": "sometimes"}, "tool_choice", "tool_choice"),
        ({"model": "m", "messages": USER, "tools": [{"type": "function", "function": {"name": "a", "parameters": "x"}}]}, "tools[0].function.parameters", "parameters"),
        ({"model": "m", "messages": USER, "tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools[0].function.name", "name"),
        ({"model": "m", "messages": USER, "tools": [{"type": "retrieval"}]}, "tools[0].type", "function"),
        ({"model": "m", "messages": USER, "tools": [{"type": "function", "function": {"name": "bad name!"}}]}, "tools[0].function", "malformed"),
        ({"model": "m", "messages": USER, "tools": [{"type": "function", "function": {"name": "a", "parameters": {"type": "array"}}}]}, "tools[0].function", "object"),
        ({"model": "m", "messages": USER, "tools": [{"type": "function", "function": {"name": "a", "parameters": [{"type": "string"}]}}]}, "tools[0].function", "name"),
        ({"model": "m", "messages": USER, "tools": TOOLS + TOOLS}, "tools", "duplicate"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, "messages[0].content", "text parts"),
        ({"model": "m", "messages": [{"role": "tool", "content": "42"}]}, "messages[0].tool_call_id", "tool_call_id"),
        ({"model": "m", "messages": USER, "temperature": 7}, "temperature", "temperature"),
        ({"model": "m", "messages": USER, "n": 3}, "n", "n"),
        ({"model": "m", "messages": USER, "tools": [{"type": "function", "function": {"name": "a", "parameters": {"type": "object", "properties": {}, "required": "a"}}}]}, "tools[0].function.parameters", "required"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages[0].content", "text"),
        ({"model": "m", "messages": [{"role": "user", "content": {"text": "x"}}]}, "messages[0].content", "string"),
        ({"model": "m", "messages": USER, "tool_choice": 5}, "tool_choice", "tool_choice"),
        ({"model": "m", "messages": USER, "stop": 5}, "stop", "stop"),
        ({"model": "m", "messages": USER, "stream_options": "yes"}, "stream_options", "stream_options"),
        ({"model": "m", "messages": [{"role": "user", "content": "x", "tool_calls": [{"function": {"name": "a"}}]}]}, "messages[0].tool_calls", "assistant"),
    ],
)
def test_bad_chat_request_is_400(scripted_url: str, body: dict, param: str, needle: str) -> None:
    err = _envelope(httpx.post(f"{scripted_url}/v1/chat/completions", json=body))
    assert err["param"] == param
    assert err["type"] == "invalid_request_error"
    assert needle.lower() in (err["message"] + str(err["param"])).lower()


def test_invalid_json_is_400(scripted_url: str) -> None:
    r = httpx.post(
        f"{scripted_url}/v1/chat/completions", content=b'{"model": "m", "messages": [', headers={"content-type": "application/json"}
    )
    assert _envelope(r)["code"] == "invalid_json"


def test_sdk_raises_typed_bad_request(scripted_url: str) -> None:
    client = openai.OpenAI(base_url=f"{scripted_url}/v1", api_key="empty", max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="m", messages=USER, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "missing_tool"}}  # type: ignore[arg-type]
        )
    assert "missing_tool" in info.value.message
    assert info.value.param == "tool_choice"


def test_unknown_route_and_method_use_the_envelope(scripted_url: str) -> None:
    _envelope(httpx.get(f"{scripted_url}/v1/nothing-here"), 404)
    _envelope(httpx.get(f"{scripted_url}/v1/chat/completions"), 405)



@pytest.mark.parametrize(
    ("content", "ctype", "needle"),
    [
        (b"[1, 2]", "application/json", "request body"),
        (b"", "application/json", "request body"),
        (b'"just a string"', "application/json", "request body"),
    ],
)
def test_body_that_is_not_an_object_is_400(scripted_url: str, content: bytes, ctype: str, needle: str) -> None:
    err = _envelope(httpx.post(f"{scripted_url}/v1/chat/completions", content=content, headers={"content-type": ctype}))
    assert needle in err["message"] and "None" not in err["message"]


def test_missing_query_parameter_names_it(scripted_url: str) -> None:
    """A field called ``query`` in the query string is still named in ``param``."""
    err = _envelope(httpx.get(f"{scripted_url}/v1/files/search", params={"uuid_str": "u"}))
    assert err["param"] == "query" and "'query'" in err["message"]
