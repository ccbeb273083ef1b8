"""function_tool: a typed function becomes a tool with a derived schema."""

from __future__ import annotations

from typing import Literal

import pytest

from msagent.errors import ConfigError
from msagent.tools import call_tool, function_tool, get_tool


def convert(value: float, unit: Literal["m", "km"] = "m", precise: bool = False) -> str:
    """Convert a distance to metres.

    Longer notes that the model does not need.
    """
    metres = value * (1000 if unit == "km" else 1)
    return f"{metres:.3f}" if precise else f"{metres:g}"


def test_schema_is_derived_from_the_signature() -> None:
    tool = function_tool(convert)()
    assert tool.name == "convert"
    assert tool.spec.description == "Convert a distance to metres."
    params = tool.spec.parameters
    assert params["required"] == ["value"]
    assert params["properties"]["value"] == {"type": "number"}
    assert params["properties"]["unit"]["enum"] == ["m", "km"]
    assert "title" not in params


def test_calls_validate_and_coerce() -> None:
    tool = function_tool(convert, name="to_metres")()
    assert call_tool(tool, ("to_metres", "{value: 1.5, unit: 'km'}")) == "1500"
    assert call_tool(tool, ("to_metres", {"value": 2, "precise": True})) == "2.000"
    assert "'unit' must be one of ['m', 'km']" in call_tool(tool, ("to_metres", {"value": 1, "unit": "mi"}))
    assert "missing required field 'value'" in call_tool(tool, ("to_metres", {}))


def test_registered_function_tools_share_the_registry() -> None:
    @function_tool(name="test_shout", register=True)
    def shout(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    assert call_tool(get_tool("test_shout"), ("test_shout", {"text": "hi"})) == "HI"
    with pytest.raises(ConfigError, match=r"\*args"):
        function_tool(lambda *a: a)
