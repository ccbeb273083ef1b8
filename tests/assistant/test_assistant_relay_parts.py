"""The relay's shortcuts give what the long way gave: the generation settings merged without
pydantic (``fastpath.generation``) and JSON through orjson (``wire_json``)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from deploy.assistant.fastpath import generation
from deploy.assistant.wire_json import dumps, loads
from msagent.llm.registry import get_chat_model

CONFIGS = [{}, {"temperature": 0.3, "stop": ["x"], "top_k": 5}, {"max_tokens": 10, "seed": 1, "presence_penalty": 0.5}]
SETTINGS = [{}, {"temperature": 0.9}, {"stop": ["a"], "presence_penalty": 1.0, "seed": 3},
            {"max_tokens": 5, "top_p": 0.5, "frequency_penalty": 0.1, "temperature": None}, {"stop": "zz"}]


@pytest.mark.parametrize(("configured", "settings"), list(itertools.product(CONFIGS, SETTINGS)))
def test_generation_is_the_merged_settings(configured: dict[str, Any], settings: dict[str, Any]) -> None:
    model = get_chat_model({"model_server": "openai", "api_base": "http://127.0.0.1:9/v1", "model": "m", "api_key": "k",
                            "generate_cfg": configured})
    expected = model.config.generation().merged(**settings).model_dump(exclude_none=True)
    got = generation(model.config.generation().model_dump(exclude_none=True), settings)
    assert got == expected and list(got) == list(expected)  # the same keys, in the same order


@pytest.mark.parametrize("value", [
    {"messages": [{"role": "user", "content": "海淀区 \u2028 \x00 \" \\"}], "n": 1, "ok": True, "none": None},
    {"seed": 2**70},  # past 64 bits: orjson refuses, json encodes it
    {1: "non-string key"},
])
def test_dumps_is_compact_utf8_json(value: Any) -> None:
    assert dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def test_loads_takes_what_json_takes_and_refuses_the_rest() -> None:
    assert loads(b'{"a": [1, 2.5, "\xe6\xb5\xb7"]}') == {"a": [1, 2.5, "海"]}
    assert loads(b'{"big": 123456789012345678901234567890}')["big"] == 123456789012345678901234567890
    with pytest.raises(ValueError):
        loads(b"<html>502 Bad Gateway</html>")
