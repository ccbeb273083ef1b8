"""``call_tool``: verify, run, and turn any failure into an observation the model can read.

The tool's ``call`` gets the verified arguments as normalised JSON text and the caller's keyword
arguments (e.g. ``dashscope_api_key`` given to ``bot.run``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from msagent.errors import ToolError, ToolNotFoundError
from msagent.schemas import ToolCall
from msagent.tools.base import BaseTool

log = logging.getLogger(__name__)

ERROR_PREFIX = "Error: "


def call_tool(
    tool: BaseTool | Mapping[str, BaseTool] | None,
    call: ToolCall | tuple[str, str | dict | None],
    **kwargs: Any,
) -> str:
    """Run one call and return its observation; never raises for tool failures.

    ``tool`` is the tool to run, a mapping of names to tools (the call's name picks one), or None
    to look the name up in the registry (a new instance, closed afterwards).
    """
    name, params = (call.function.name, call.function.arguments) if isinstance(call, ToolCall) else call
    owned = False
    try:
        if isinstance(tool, BaseTool):
            target = tool
        elif tool is None:
            from msagent.tools.registry import get_tool

            target, owned = get_tool(name), True
        else:
            if name not in tool:
                known = ", ".join(sorted(tool)) or "none"
                raise ToolNotFoundError(f"unknown tool '{name}'; available tools: {known}", tool=name)
            target = tool[name]
        text = target.arguments_text(params)
        return _as_text(target.call(text, **kwargs))
    except ToolError as e:
        return f"{ERROR_PREFIX}{e.message}"
    except Exception as e:  # noqa: BLE001  (any failure becomes an observation the model can act on)
        log.warning("tool %r failed", name, exc_info=True)
        return f"{ERROR_PREFIX}{type(e).__name__}: {e}"
    finally:
        if owned:
            target.close()


def _as_text(result: Any) -> str:
    if isinstance(result, str):
        return result
    try:
        return json.dumps(result, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(result)
