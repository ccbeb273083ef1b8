"""``BaseTool``: a name, a description, parameters (list form or JSON schema) and ``call``.

``call(params, **kwargs)`` gets the arguments as the JSON text of an object, as ModelScope-Agent
and Qwen-Agent tools expect (``json.loads(params)`` works); ``call_tool`` and the tool node verify
them first and pass them normalised (valid JSON even when the model wrote JSON5). Built-in tools
also take a dict, since ``verify_args`` reads both.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from msagent.errors import ToolArgumentError
from msagent.schemas import ToolSpec
from msagent.tools.args import check_arguments, coerce_arguments, parse_arguments

if TYPE_CHECKING:
    from msagent.tools.registry import register_tool
    from msagent.tools.service_proxy import ToolServiceProxy

__all__ = ["BaseTool", "ToolServiceProxy", "register_tool"]


class BaseTool(ABC):
    """Subclass, set ``name`` (or use ``@register_tool('name')``), ``description`` and
    ``parameters``, and implement ``call``. Per-instance settings (timeouts, keys) come in ``cfg``.

    ``parameters`` is the seed's list form ``[{'name','type','description','required'}]`` or a
    JSON schema; ``spec`` derives the one JSON schema the model sees from it.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    parameters: ClassVar[list[dict] | dict] = []
    # Calls of one model turn to different tools run at once; calls to this same instance run one
    # after another (it may hold state) unless it takes concurrent calls (``msagent.tools.parallel``).
    concurrent_calls: ClassVar[bool] = False

    def __init__(self, cfg: dict | None = None) -> None:
        if not self.name:
            raise TypeError(f"{type(self).__name__} has no name; set `name` or use @register_tool('name')")
        cfg = dict(cfg or {})
        # ModelScope-Agent passes the whole tool_cfg ({'tool_name': {...}, ...}); take our part.
        if isinstance(cfg.get(self.name), dict):
            cfg = dict(cfg[self.name])
        self.cfg: dict[str, Any] = cfg
        self._spec: ToolSpec | None = None

    @classmethod
    def class_spec(cls) -> ToolSpec:
        """The spec from the class attributes alone (no instance needed)."""
        return ToolSpec.from_any({"name": cls.name, "description": cls.description, "parameters": cls.parameters})

    @property
    def spec(self) -> ToolSpec:
        """The spec the model sees; ``cfg['description']`` may override the description."""
        if self._spec is None:
            spec = self.class_spec()
            if self.cfg.get("description"):
                spec = spec.model_copy(update={"description": str(self.cfg["description"])})
            self._spec = spec
        return self._spec

    @property
    def function(self) -> dict[str, Any]:
        """Qwen-Agent's view of the tool: ``{'name', 'description', 'parameters'}`` as written."""
        spec = self.spec
        return {"name": spec.name, "description": spec.description, "parameters": spec.source_parameters or spec.parameters}

    def verify_args(self, params: str | dict | None) -> dict[str, Any]:
        """The arguments as a dict, or ``ToolArgumentError`` saying what to fix."""
        args = coerce_arguments(parse_arguments(params, self.name), self.spec.parameters)
        check_arguments(args, self.spec.parameters, self.name)
        return args

    def _verify_args(self, params: str | dict | None) -> dict[str, Any]:
        """ModelScope-Agent's name for ``verify_args``."""
        return self.verify_args(params)

    def _verify_json_format_args(self, params: str | dict | None, strict_json: bool = False) -> dict[str, Any]:
        """Qwen-Agent's name for ``verify_args``; ``strict_json`` refuses JSON5."""
        if strict_json and isinstance(params, str) and params.strip():
            try:
                params = json.loads(params)
            except ValueError as e:
                raise ToolArgumentError(f"arguments for tool '{self.name}' are not strict JSON ({e})") from None
        return self.verify_args(params)

    def arguments_text(self, params: str | dict | None) -> str:
        """The verified arguments as the JSON text ``call`` receives."""
        return json.dumps(self.verify_args(params), ensure_ascii=False)

    @abstractmethod
    def call(self, params: str, **kwargs: Any) -> Any:
        """Run the tool on ``params`` (the arguments as JSON text); return text (other values are
        sent as JSON). Raise ``ToolError`` for failures the model should see."""

    def close(self) -> None:  # noqa: B027  (optional hook, not abstract)
        """Release what the tool holds (processes, clients); the default holds nothing."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def __getattr__(name: str) -> Any:
    # The seeds' import paths: ``from msagent.tools.base import BaseTool, register_tool`` (Qwen-Agent)
    # and ``ToolServiceProxy`` (ModelScope-Agent), without a cycle or httpx for every tool.
    if name == "register_tool":
        from msagent.tools.registry import register_tool

        return register_tool
    if name == "ToolServiceProxy":
        from msagent.tools.service_proxy import ToolServiceProxy

        return ToolServiceProxy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
