"""``function_tool``: a typed Python function becomes a tool; its JSON schema is derived from the
signature (pydantic), the first docstring paragraph is the description."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

from pydantic import ValidationError, create_model

from msagent.errors import ConfigError, ToolArgumentError
from msagent.tools.base import BaseTool
from msagent.tools.registry import register_tool


def function_tool(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, register: bool = False
) -> Any:
    """``@function_tool`` or ``function_tool(fn, name=..., register=True)`` → a ``BaseTool`` class.

    Arguments are checked against the schema, then validated (and coerced) by pydantic.
    """

    def build(func: Callable[..., Any]) -> type[BaseTool]:
        tool_name = name or func.__name__
        hints = get_type_hints(func)
        fields: dict[str, Any] = {}
        for param in inspect.signature(func).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise ConfigError(f"function tool '{tool_name}' cannot take *args or **kwargs")
            default = ... if param.default is param.empty else param.default
            fields[param.name] = (hints.get(param.name, Any), default)
        model = create_model(f"{tool_name}_arguments", **fields)
        schema = _drop_titles(model.model_json_schema())
        doc = inspect.getdoc(func) or ""

        def call(self: BaseTool, params: str | dict, **kwargs: Any) -> Any:
            args = self.verify_args(params)
            try:
                values = model.model_validate(args)
            except ValidationError as e:
                problems = "; ".join(
                    f"'{'.'.join(map(str, err['loc']))}': {err['msg']}" for err in e.errors()
                )
                raise ToolArgumentError(f"invalid arguments for tool '{tool_name}': {problems}") from None
            return func(**{k: getattr(values, k) for k in fields})

        cls = type(
            f"{tool_name.title().replace('_', '')}Tool",
            (BaseTool,),
            {
                "name": tool_name,
                "description": doc.split("\n\n")[0].strip(),
                "parameters": schema,
                "call": call,
                "__module__": func.__module__,
                "__doc__": doc,
            },
        )
        return register_tool(tool_name)(cls) if register else cls

    return build(fn) if fn is not None else build


def _drop_titles(schema: Any) -> Any:
    """pydantic adds 'title' everywhere; models only need types and descriptions."""
    if isinstance(schema, dict):
        return {k: _drop_titles(v) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    if isinstance(schema, list):
        return [_drop_titles(v) for v in schema]
    return schema
