"""BaseTool specs, argument checking, the registry and call_tool."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from msagent.errors import ConfigError, ToolArgumentError, ToolError, ToolNotFoundError
from msagent.schemas import FunctionCall, ToolCall
from msagent.tools import BaseTool, call_tool, get_tool, register_tool, tool_names, tool_specs
from msagent.tools.builtin.calculator import evaluate

LIST_FORM = [
    {"name": "city", "type": "string", "description": "the city", "required": True},
    {"name": "days", "type": "int", "description": "how many days", "required": False},
    {"name": "metric", "type": "bool", "description": "metric units"},
    {"name": "tags", "type": "array", "description": "labels", "items": {"type": "string"}},
]
SCHEMA_FORM = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "the city"},
        "days": {"type": "integer", "description": "how many days"},
        "metric": {"type": "boolean", "description": "metric units"},
        "tags": {"type": "array", "description": "labels", "items": {"type": "string"}},
    },
    "required": ["city"],
}


class WeatherList(BaseTool):
    name = "weather"
    description = "Weather forecast."
    parameters = LIST_FORM

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        return f"{args['city']}: sunny for {args.get('days', 1)} days"


class WeatherSchema(WeatherList):
    parameters = SCHEMA_FORM


class Boom(BaseTool):
    name = "boom"
    parameters = {"type": "object", "properties": {"kind": {"type": "string"}}}

    def call(self, params: str | dict, **kwargs: Any) -> str:
        kind = self.verify_args(params).get("kind")
        if kind == "tool":
            raise ToolError("the service is down; try again later")
        raise RuntimeError("unexpected crash")


def test_list_and_schema_parameters_give_the_same_spec() -> None:
    assert WeatherList().spec.model_dump() == WeatherSchema().spec.model_dump()
    # the list form is kept for prompts that show it as written (Qwen-Agent's), never sent as the schema
    assert WeatherList().spec.source_parameters == LIST_FORM and WeatherSchema().spec.source_parameters is None
    assert "source_parameters" not in WeatherList().spec.model_dump()
    assert WeatherList().function["parameters"] == LIST_FORM
    assert WeatherList().spec.parameters["properties"]["days"]["type"] == "integer"
    assert WeatherList.class_spec() == WeatherList().spec


def test_verify_args_accepts_json5_and_unknown_fields() -> None:
    args = WeatherList().verify_args("{'city': 'Paris', days: 3, extra: 1,}")
    assert args == {"city": "Paris", "days": 3, "extra": 1}
    assert WeatherList().verify_args({"city": "Rome", "days": 2.0}) == {"city": "Rome", "days": 2.0}
    # a number for a string field is taken as its text (the seed sends {"instance_id": 123} so)
    assert WeatherList().verify_args('{"city": 123, "days": 2}') == {"city": "123", "days": 2}


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ("{city: 'Paris'", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("{}", "missing required field 'city'"),
        ({"city": True}, "'city' must be string, got boolean"),
        ({"city": "x", "days": "3"}, "'days' must be integer, got string"),
        ({"city": "x", "days": 1.5}, "'days' must be integer, got number"),
        ({"city": "x", "days": True}, "'days' must be integer, got boolean"),
        ({"city": "x", "metric": "yes"}, "'metric' must be boolean"),
        ({"city": "x", "tags": "a"}, "'tags' must be array"),
        ({"city": "x", "tags": ["a", 2]}, "'tags[1]' must be string"),
    ],
)
def test_argument_errors_say_what_to_fix(params: Any, needle: str) -> None:
    with pytest.raises(ToolArgumentError) as info:
        WeatherSchema().verify_args(params)
    assert needle in str(info.value)
    assert "weather" in str(info.value)
    assert pickle.loads(pickle.dumps(info.value)).message == info.value.message


def test_object_type_and_number_checks() -> None:
    class Nested(WeatherList):
        parameters = {
            "type": "object",
            "properties": {
                "opts": {"type": "object", "required": ["n"], "properties": {"n": {"type": "number"}}}
            },
        }

    tool = Nested()
    assert tool.verify_args({"opts": {"n": 1}}) == {"opts": {"n": 1}}
    with pytest.raises(ToolArgumentError, match="missing required field 'opts.n'"):
        tool.verify_args({"opts": {}})
    with pytest.raises(ToolArgumentError, match="'opts' must be object"):
        tool.verify_args({"opts": [1]})


def test_registry_lookup_duplicates_and_builtins() -> None:
    assert {"calculator", "code_interpreter", "current_time"} <= set(tool_names())
    with pytest.raises(ToolNotFoundError) as info:
        get_tool("no_such_tool")
    assert "calculator" in str(info.value)

    @register_tool("test_echo_tool")
    class Echo(BaseTool):
        parameters = [{"name": "text", "type": "string", "required": True}]

        def call(self, params: str | dict, **kwargs: Any) -> str:
            return self.verify_args(params)["text"] + str(self.cfg.get("suffix", ""))

    assert Echo.name == "test_echo_tool"
    assert get_tool("test_echo_tool", {"suffix": "!"}).call({"text": "hi"}) == "hi!"
    assert tool_specs(["test_echo_tool"])[0].parameters["required"] == ["text"]
    with pytest.raises(ConfigError, match="already registered"):

        @register_tool("test_echo_tool")
        class Other(Echo):
            pass


def test_call_tool_never_raises() -> None:
    tools = {"weather": WeatherList(), "boom": Boom()}
    ok = ToolCall(function=FunctionCall(name="weather", arguments='{"city": "Oslo"}'))
    assert call_tool(tools, ok) == "Oslo: sunny for 1 days"
    assert call_tool(tools["weather"], ("weather", {"city": "Oslo", "days": 2})) == "Oslo: sunny for 2 days"
    assert call_tool(tools, ("nope", "{}")).startswith(
        "Error: unknown tool 'nope'; available tools: boom, weather"
    )
    assert call_tool(tools, ("weather", "{city: ")).startswith(
        "Error: arguments for tool 'weather' are not valid"
    )
    assert call_tool(tools, ("weather", "{}")) == (
        "Error: invalid arguments for tool 'weather': missing required field 'city'; its parameters are: "
        "'city' (string), 'days' (integer), 'metric' (boolean), 'tags' (array)"
    )
    assert call_tool(tools, ("boom", {"kind": "tool"})) == "Error: the service is down; try again later"
    assert call_tool(tools, ("boom", {})) == "Error: RuntimeError: unexpected crash"
    assert call_tool(None, ("calculator", {"expression": "6*7"})) == "42"
    assert call_tool(None, ("missing_tool", {})).startswith("Error: unknown tool 'missing_tool'")


def test_calculator() -> None:
    calc = get_tool("calculator")
    assert calc.call('{"expression": "2 * (3 + 4) ** 2"}') == "98"
    assert calc.call({"expression": "sqrt(16) + pi - pi"}) == "4"
    assert calc.call({"expression": "7 / 2"}) == "3.5"
    assert evaluate("-3 // 2") == -2
    for bad, needle in [
        ("__import__('os').system('true')", "unsupported element"),
        ("1/0", "division by zero"),
        ("2 ** 100000", "too large"),
        ("1 +", "not an arithmetic expression"),
        ("().__class__", "unsupported"),
    ]:
        assert needle in call_tool(calc, ("calculator", {"expression": bad}))


def test_current_time() -> None:
    tool = get_tool("current_time")
    assert "Asia/Shanghai" in tool.call({"timezone": "Asia/Shanghai"})
    assert "+08:00" in tool.call({"timezone": "Asia/Shanghai"})
    assert call_tool(tool, ("current_time", {"timezone": "Mars/Base"})).startswith("Error: unknown time zone")
    assert json.dumps(tool.spec.openai_form())


def test_modelscope_style_cfg_and_bad_names() -> None:
    tool = WeatherList({"weather": {"timeout": 5}, "other_tool": {"x": 1}})
    assert tool.cfg == {"timeout": 5}
    assert tool._verify_args('{"city": "Oslo"}') == {"city": "Oslo"}
    with pytest.raises(ConfigError, match="invalid tool name"):
        register_tool("bad name!")


class SeedStyle(BaseTool):
    """A tool written as in Qwen-Agent's README: ``call`` reads the arguments with ``json.loads``."""

    name = "seed_style"
    parameters = [{"name": "prompt", "type": "string", "description": "what to draw", "required": True}]

    def call(self, params: str, **kwargs: Any) -> str:
        prompt = json.loads(params)["prompt"]
        return json.dumps({"image_url": f"image/{prompt}", "kwargs": sorted(kwargs)}, ensure_ascii=False)


def test_call_gets_normalised_json_text_and_the_run_keywords() -> None:
    tool = SeedStyle()
    # JSON5 from the model (single quotes, trailing comma) arrives as strict JSON text
    out = call_tool(tool, ("seed_style", "{'prompt': '小狗', extra: 1,}"), dashscope_api_key="sk-1")
    assert json.loads(out) == {"image_url": "image/小狗", "kwargs": ["dashscope_api_key"]}
    assert tool.arguments_text({"prompt": "小狗"}) == '{"prompt": "小狗"}'
    # the seed's verify names read text or a dict and return the dict
    for verify in (tool.verify_args, tool._verify_args, tool._verify_json_format_args):
        assert verify('{"prompt": "a"}') == {"prompt": "a"} == verify({"prompt": "a"})
    with pytest.raises(ToolArgumentError, match="strict JSON"):
        tool._verify_json_format_args("{'prompt': 'a'}", strict_json=True)
    # a call that raises is an observation, not a crash
    assert call_tool(tool, ("seed_style", "{}")).startswith("Error: invalid arguments for tool 'seed_style'")


def test_tool_service_proxy_is_importable_from_the_seed_paths() -> None:
    from msagent.tools import ToolServiceProxy
    from msagent.tools.base import ToolServiceProxy as FromBase
    from msagent.tools.service_proxy import ToolServiceProxy as Defined

    assert ToolServiceProxy is FromBase is Defined
    with pytest.raises(ImportError):
        from msagent.tools.base import NoSuchThing  # type: ignore[attr-defined]  # noqa: F401


def test_installed_tool_plugins_register_through_their_entry_point(tmp_path: Any) -> None:
    """A package with an ``msagent.tools`` entry point is imported on the first lookup (this is how
    a tool-node image gets tools of its own); one that fails to load is named in the lookup error."""
    import subprocess
    import sys

    (tmp_path / "my_plugin_tools.py").write_text(
        "from msagent.tools import BaseTool, register_tool\n"
        "@register_tool('plugin_echo')\n"
        "class Echo(BaseTool):\n"
        "    parameters = [{'name': 'text', 'type': 'string', 'required': True}]\n"
        "    def call(self, params, **kwargs):\n"
        "        import json\n"
        "        return json.loads(params)['text']\n"
    )
    dist = tmp_path / "my_plugin_tools-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin-tools\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[msagent.tools]\nmine = my_plugin_tools\nbroken = no_such_module_xyz\n")
    code = (
        "from msagent.tools import call_tool, get_tool\n"
        "print(call_tool(None, ('plugin_echo', {'text': 'hi'})))\n"
        "print(call_tool(None, ('missing', {})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})  # fmt: skip
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first == "hi"
    assert "plugin_echo" in second and "broken (no_such_module_xyz: ModuleNotFoundError" in second


def test_first_lookups_from_many_threads_all_see_the_builtins() -> None:
    """The built-ins load once; a thread that asks while another is loading them waits for them."""
    import subprocess
    import sys

    code = (
        "import threading\n"
        "from msagent.tools import get_tool\n"
        "errors = []\n"
        "def look():\n"
        "    try:\n"
        "        get_tool('calculator').close()\n"
        "    except Exception as e:\n"
        "        errors.append(e)\n"
        "threads = [threading.Thread(target=look) for _ in range(16)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(len(errors))\n"
    )
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == "0", out.stderr
