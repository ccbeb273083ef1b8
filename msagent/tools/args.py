"""Argument checking: parse the model's argument text (json5) and check it against a JSON schema.

Messages are written for the model: they say what was wrong and what to send instead.
"""

from __future__ import annotations

import json
from typing import Any

import json5

from msagent.errors import ToolArgumentError

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
    "null": (type(None),),
}


def parse_arguments(params: str | dict | None, tool_name: str = "") -> dict[str, Any]:
    """The arguments as a dict: a dict passes, a string is read as JSON5, empty means ``{}``."""
    what = f"tool '{tool_name}'" if tool_name else "the tool"
    if params is None:
        return {}
    if isinstance(params, dict):
        return dict(params)
    if not isinstance(params, str):
        raise ToolArgumentError(f"arguments for {what} must be a JSON object, got {type(params).__name__}")
    text = params.strip()
    if not text:
        return {}
    try:
        value = json5.loads(text)
    except ValueError as e:
        raise ToolArgumentError(
            f"arguments for {what} are not valid JSON ({e}); send one JSON object, "
            f'e.g. {{"name": "value"}}, got: {_clip(text)}'
        ) from None
    if not isinstance(value, dict):
        raise ToolArgumentError(
            f"arguments for {what} must be a JSON object with named fields, got {_clip(json.dumps(value))}"
        )
    return value


def coerce_arguments(args: dict[str, Any], schema: dict) -> dict[str, Any]:
    """A number sent for a field typed ``string`` becomes its text (``{"instance_id": 123}`` for a
    string id, as in the seed's tool-service example); nothing else is changed."""
    properties = schema.get("properties") or {}
    out = dict(args)
    for name, value in args.items():
        sub = properties.get(name)
        if isinstance(sub, dict) and sub.get("type") == "string" and isinstance(value, (int, float)) \
                and not isinstance(value, bool):  # fmt: skip
            out[name] = json.dumps(value)
    return out


def check_arguments(args: dict[str, Any], schema: dict, tool_name: str = "") -> None:
    """Raise ``ToolArgumentError`` listing every missing field and wrong type (unknown fields pass)."""
    problems = _check(args, schema, "")
    if problems:
        what = f"tool '{tool_name}'" if tool_name else "the tool"
        fields = ", ".join(f"'{k}' ({v.get('type', 'any')})" for k, v in schema.get("properties", {}).items())
        hint = f"; its parameters are: {fields}" if fields else ""
        raise ToolArgumentError(f"invalid arguments for {what}: {'; '.join(problems)}{hint}")


def _check(value: Any, schema: dict, path: str) -> list[str]:
    if not isinstance(schema, dict):
        return []
    where = f"'{path}'" if path else "the arguments"
    expected = schema.get("type")
    if expected is not None:
        types = expected if isinstance(expected, list) else [expected]
        if not any(_is_type(value, t) for t in types):
            return [
                f"{where} must be {' or '.join(map(str, types))}, got {_json_type(value)} {_clip(_dump(value), 40)}"
            ]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where} must be one of {schema['enum']}, got {_clip(_dump(value), 40)}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"missing required field '{_join(path, name)}'")
        for name, sub in (schema.get("properties") or {}).items():
            if name in value:
                problems += _check(value[name], sub, _join(path, name))
    elif isinstance(value, (list, tuple)) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += _check(item, schema["items"], f"{path}[{i}]")
    return problems


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    py = _PY_TYPES.get(name)
    return True if py is None else isinstance(value, py)


def _json_type(value: Any) -> str:
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if isinstance(value, _PY_TYPES[name]) and not (name == "integer" and isinstance(value, bool)):
            return name
    return type(value).__name__


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _dump(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
