"""``BaseTool``: a name, a description, parameters (list form or JSON schema) and ``call``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from msagent.schemas import ToolSpec, parameters_to_json_schema
from msagent.tools.args import check_arguments, parse_arguments


class BaseTool(ABC):
    """Subclass, set ``name`` (or use ``@register_tool('name')``), ``description`` and
    ``parameters``, and implement ``call``. Per-instance settings (timeouts, keys) come in ``cfg``.

    ``parameters`` is the seed's list form ``[{'name','type','description','required'}]`` or a
    JSON schema; ``spec`` derives the one JSON schema the model sees from it.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    parameters: ClassVar[list[dict] | dict] = []

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
        return ToolSpec(
            name=cls.name, description=cls.description, parameters=parameters_to_json_schema(cls.parameters)
        )

    @property
    def spec(self) -> ToolSpec:
        """The spec the model sees; ``cfg['description']`` may override the description."""
        if self._spec is None:
            spec = self.class_spec()
            if self.cfg.get("description"):
                spec = spec.model_copy(update={"description": str(self.cfg["description"])})
            self._spec = spec
        return self._spec

    def verify_args(self, params: str | dict | None) -> dict[str, Any]:
        """The arguments as a dict, or ``ToolArgumentError`` saying what to fix."""
        args = parse_arguments(params, self.name)
        check_arguments(args, self.spec.parameters, self.name)
        return args

    _verify_args = verify_args  # the name ModelScope-Agent tools call

    @abstractmethod
    def call(self, params: str | dict, **kwargs: Any) -> str:
        """Run the tool; raise ``ToolError`` for failures the model should see."""

    def close(self) -> None:  # noqa: B027  (optional hook, not abstract)
        """Release what the tool holds (processes, clients); the default holds nothing."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
