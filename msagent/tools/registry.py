"""The one tool registry: ``@register_tool('name')``, ``get_tool``, ``tool_names``, ``tool_specs``.

Built-in tools register through the same decorator; they are imported on the first lookup so that
importing ``msagent.tools`` stays cheap. So are installed plugins: a package that declares an entry
point in the group ``msagent.tools`` (``my_tools = "my_package.tools"``) has that module imported
then, which registers its tools (e.g. in a tool-node image built with the package installed).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points

from msagent.errors import ConfigError, ToolNotFoundError
from msagent.schemas import ToolSpec
from msagent.tools.base import BaseTool

log = logging.getLogger(__name__)

PLUGIN_GROUP = "msagent.tools"
_NAME = r"[A-Za-z0-9_\-\.]{1,64}"  # what model APIs accept (same as ToolSpec.name)
_TOOLS: dict[str, type[BaseTool]] = {}
_lock = threading.Lock()
_load_lock = threading.RLock()  # re-entrant: a plugin may look tools up while it loads
_builtins_loaded = False
_plugin_errors: dict[str, str] = {}  # entry point name -> why it did not load


def register_tool(name: str, *, allow_override: bool = False) -> Callable[[type[BaseTool]], type[BaseTool]]:
    """Class decorator: sets ``cls.name`` and adds the class to the registry."""
    if not isinstance(name, str) or not re.fullmatch(_NAME, name):
        raise ConfigError(f"invalid tool name {name!r}: use 1-64 letters, digits, '_', '-' or '.'")

    def decorator(cls: type[BaseTool]) -> type[BaseTool]:
        if not (isinstance(cls, type) and issubclass(cls, BaseTool)):
            raise ConfigError(f"@register_tool('{name}') decorates BaseTool subclasses, not {cls!r}")
        with _lock:
            old = _TOOLS.get(name)
            same = old is not None and (old.__module__, old.__qualname__) == (
                cls.__module__,
                cls.__qualname__,
            )
            if old is not None and not same and not allow_override:
                raise ConfigError(
                    f"tool '{name}' is already registered by {old.__module__}.{old.__qualname__}; "
                    "choose another name or pass allow_override=True"
                )
            cls.name = name
            _TOOLS[name] = cls
        return cls

    return decorator


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    with _load_lock:  # threads looking tools up at once (agents built in parallel) wait for all of them
        if _builtins_loaded:
            return
        import msagent.tools.builtin  # noqa: F401  (registers the built-in tools)

        for entry in entry_points(group=PLUGIN_GROUP):
            try:
                entry.load()
            except Exception as e:  # noqa: BLE001  (a broken plugin must not take the built-in tools down)
                log.exception("tool plugin %r (%s) failed to load", entry.name, entry.value)
                _plugin_errors[entry.name] = f"{entry.value}: {type(e).__name__}: {e}"
        _builtins_loaded = True


def tool_class(name: str) -> type[BaseTool]:
    _load_builtins()
    try:
        return _TOOLS[name]
    except KeyError:
        known = ", ".join(sorted(_TOOLS)) or "none"
        broken = "; ".join(f"{k} ({v})" for k, v in sorted(_plugin_errors.items()))
        hint = f"; tool plugins that failed to load: {broken}" if broken else ""
        raise ToolNotFoundError(f"unknown tool '{name}'; known tools: {known}{hint}", tool=name) from None


def get_tool(name: str, cfg: dict | None = None) -> BaseTool:
    """A new instance of the registered tool ``name`` (``cfg``: its per-instance settings)."""
    return tool_class(name)(cfg)


def tool_names() -> list[str]:
    _load_builtins()
    return sorted(_TOOLS)


def tool_specs(names: Iterable[str] | None = None) -> list[ToolSpec]:
    """The specs of the named tools (all registered tools when ``names`` is None)."""
    return [tool_class(n).class_spec() for n in (tool_names() if names is None else names)]
