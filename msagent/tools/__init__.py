"""Tools: ``BaseTool``, the registry (``@register_tool``, ``get_tool``), ``call_tool`` and built-ins.

Free of ray/openai imports: this package also runs inside the slim tool-node image.
``ToolServiceProxy`` (a tool run in a tool node) is imported on first use.
"""

from typing import TYPE_CHECKING, Any

from msagent.tools.args import check_arguments, parse_arguments
from msagent.tools.base import BaseTool
from msagent.tools.call import ERROR_PREFIX, call_tool
from msagent.tools.function import function_tool
from msagent.tools.parallel import call_tools
from msagent.tools.registry import get_tool, register_tool, tool_class, tool_names, tool_specs

if TYPE_CHECKING:
    from msagent.tools.service_proxy import ToolServiceProxy

__all__ = [
    "ERROR_PREFIX",
    "BaseTool",
    "ToolServiceProxy",
    "call_tool",
    "call_tools",
    "check_arguments",
    "function_tool",
    "get_tool",
    "parse_arguments",
    "register_tool",
    "tool_class",
    "tool_names",
    "tool_specs",
]


def __getattr__(name: str) -> Any:
    if name == "ToolServiceProxy":
        from msagent.tools.service_proxy import ToolServiceProxy

        return ToolServiceProxy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
