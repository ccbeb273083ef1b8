"""One registry of model back-ends; the built-in ones register through it like any plugin."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from msagent.errors import ConfigError, UnknownModelServerError
from msagent.llm.base import ChatModel
from msagent.llm.config import LLMConfig

ModelFactory = Callable[[LLMConfig], ChatModel]

_FACTORIES: dict[str, ModelFactory] = {}
_BUILTINS_LOADED = False
_BUILTINS_LOCK = threading.RLock()


def register_model_server(*names: str) -> Callable[[ModelFactory], ModelFactory]:
    """Register a factory for ``model_server`` values, e.g. ``@register_model_server('openai', 'vllm')``."""

    def decorator(factory: ModelFactory) -> ModelFactory:
        for name in names:
            _FACTORIES[name.lower()] = factory
        return factory

    return decorator


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    with _BUILTINS_LOCK:  # threads building models at once (an actor hosting many agents) wait here
        if not _BUILTINS_LOADED:
            import msagent.llm.builtin  # noqa: F401  (registers the built-in back-ends)

            _BUILTINS_LOADED = True


def model_servers() -> list[str]:
    _load_builtins()
    return sorted(_FACTORIES)


def get_chat_model(config: ChatModel | LLMConfig | dict[str, Any] | None) -> ChatModel:
    """Build a chat model from a config dict (or return a ready model unchanged)."""
    if isinstance(config, ChatModel):
        return config
    if config is None:
        raise ConfigError("no llm config given: pass llm={'model': ..., 'model_server': 'dashscope' | 'openai', ...}")
    try:
        cfg = config if isinstance(config, LLMConfig) else LLMConfig.model_validate(config)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'llm'}: {err['msg'].removeprefix('Value error, ')}" for err in e.errors()
        )
        raise ConfigError(f"invalid llm config: {problems}", field="llm") from None
    _load_builtins()
    factory = _FACTORIES.get(cfg.model_server.lower())
    if factory is None:
        raise UnknownModelServerError(
            f"unknown model_server {cfg.model_server!r}; use one of {', '.join(model_servers())} "
            "or an OpenAI-compatible base URL",
            model_server=cfg.model_server,
        )
    return factory(cfg)
