"""AgentScope's model configs: ``msagent.init(model_configs="configs.json" | dict | [dict, ...])``.

Each config names a model once (``config_name``) and says how to reach it (``model_type``):

- ``openai`` (alias ``openai_chat``): ``model_name``, ``api_key``, ``organization``,
  ``client_args`` (``base_url`` for any OpenAI-compatible server, ``timeout``, ``max_retries``,
  ``default_headers``, ``default_query``), ``generate_args`` (temperature, ...);
- ``openai_embedding`` and ``openai_dall_e``: the same fields;
- ``post_api`` (alias ``post_api_chat``): ``api_url``, ``headers``, ``json_args``, ``post_args``,
  ``messages_key``, ``max_retries``, and msagent's ``response_path``;
- ``dashscope_chat``: ``model_name``, ``api_key``, ``generate_args``;
- ``msagent``: ``llm``, any msagent llm config (the local GGUF model, the scripted fake model, ...).

They become configs of msagent's one model layer (``LLMConfig`` / ``get_chat_model``). Unknown
fields, a missing or duplicated ``config_name`` and unknown types are ``ConfigError``s that name them.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from msagent.errors import ConfigError, UnknownModelConfigError
from msagent.llm.config import LLMConfig

ModelType = Literal["openai", "openai_embedding", "openai_dall_e", "post_api", "dashscope_chat", "msagent"]
_ALIASES = {"openai_chat": "openai", "post_api_chat": "post_api"}
_CLIENT_ARGS = {"base_url", "timeout", "max_retries", "default_headers", "default_query"}


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    config_name: str = Field(min_length=1)
    model_type: ModelType
    model_name: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    organization: str | None = None
    client_args: dict[str, Any] = Field(default_factory=dict)
    generate_args: dict[str, Any] = Field(default_factory=dict)
    # post_api
    api_url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    json_args: dict[str, Any] = Field(default_factory=dict)
    post_args: dict[str, Any] = Field(default_factory=dict)
    messages_key: str = "inputs"
    max_retries: int = Field(default=3, ge=0)
    retry_interval: float = Field(default=1.0, ge=0)
    max_length: int | None = None
    timeout: float | None = Field(default=None, gt=0)
    response_path: str | None = None
    # msagent
    llm: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("model_type") in _ALIASES:
            data = {**data, "model_type": _ALIASES[data["model_type"]]}
        return data

    @model_validator(mode="after")
    def _needs(self) -> ModelConfig:
        kind = self.model_type
        if kind in ("openai", "openai_embedding", "openai_dall_e", "dashscope_chat") and not self.model_name:
            raise ValueError(f"model_type {kind!r} needs 'model_name'")
        if kind == "post_api" and not self.api_url:
            raise ValueError("model_type 'post_api' needs 'api_url'")
        if kind == "msagent" and not self.llm:
            raise ValueError("model_type 'msagent' needs 'llm', an msagent llm config")
        unknown = sorted(set(self.client_args) - _CLIENT_ARGS)
        if unknown:
            raise ValueError(f"client_args {unknown} are not supported; supported: {sorted(_CLIENT_ARGS)}")
        return self

    def llm_config(self) -> LLMConfig:
        """This config as one of msagent's model layer."""
        kind = self.model_type
        if kind == "msagent":
            return LLMConfig.model_validate(self.llm)
        data: dict[str, Any] = {"model": self.model_name or "", "generate_cfg": dict(self.generate_args)}
        if self.api_key:
            data["api_key"] = self.api_key
        if self.timeout:
            data["timeout"] = self.timeout
        if kind == "post_api":
            data.update(
                model_server="post_api", model=self.model_name or self.config_name, api_url=self.api_url,
                headers=self.headers, json_args=self.json_args, post_args=self.post_args,
                messages_key=self.messages_key, max_retries=self.max_retries, response_path=self.response_path,
            )  # fmt: skip
            return LLMConfig.model_validate(data)
        if kind == "dashscope_chat":
            return LLMConfig.model_validate({**data, "model_server": "dashscope"})
        client = self.client_args
        data["model_server"] = "openai"
        if client.get("base_url"):
            data["api_base"] = str(client["base_url"])
        for key in ("timeout", "max_retries"):
            if client.get(key) is not None:
                data[key] = client[key]
        organization = self.organization or os.environ.get("OPENAI_ORGANIZATION")
        for key, value in (("organization", organization), ("default_headers", client.get("default_headers")),
                           ("default_query", client.get("default_query"))):  # fmt: skip
            if value:
                data[key] = value
        return LLMConfig.model_validate(data)


_lock = threading.Lock()
_configs: dict[str, ModelConfig] = {}  # this process's configs, as AgentScope keeps them


def _problems(error: ValidationError, name: str) -> str:
    parts = []
    for err in error.errors():
        where = ".".join(map(str, err["loc"]))
        what = "is not a known field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {what}" if where else what)
    return f"model config {name}: " + "; ".join(parts)


def parse_model_configs(configs: str | Path | dict[str, Any] | list[Any]) -> list[ModelConfig]:
    """Configs from a JSON file path, one dict or a list; duplicates in it are a ``ConfigError``."""
    if isinstance(configs, (str, Path)):
        path = Path(configs)
        try:
            configs = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"cannot read model configs {str(path)!r}: {e.strerror or e}", path=str(path)) from None
        except ValueError as e:
            raise ConfigError(f"model configs {str(path)!r} are not valid JSON: {e}", path=str(path)) from None
    items = [configs] if isinstance(configs, (dict, ModelConfig)) else configs
    if not isinstance(items, list):
        raise ConfigError("model_configs must be a file path, a dict or a list of dicts")
    out: list[ModelConfig] = []
    for i, item in enumerate(items):
        if isinstance(item, ModelConfig):
            out.append(item)
            continue
        name = repr(item.get("config_name")) if isinstance(item, dict) and item.get("config_name") else f"#{i}"
        try:
            out.append(ModelConfig.model_validate(item))
        except ValidationError as e:
            raise ConfigError(_problems(e, name)) from None
    names = [c.config_name for c in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"config_name {', '.join(map(repr, twice))} is given more than once", config_name=twice[0])
    return out


def read_model_configs(configs: Any, clear_existing: bool = False) -> list[str]:
    """Add configs to this process's set (AgentScope's call); a name already there is a ``ConfigError``."""
    parsed = parse_model_configs(configs)
    with _lock:
        if clear_existing:
            _configs.clear()
        taken = sorted(c.config_name for c in parsed if c.config_name in _configs)
        if taken:
            raise ConfigError(
                f"config_name {', '.join(map(repr, taken))} is already loaded; use another name, or "
                "clear_existing=True", config_name=taken[0],
            )  # fmt: skip
        _configs.update((c.config_name, c) for c in parsed)
    return [c.config_name for c in parsed]


def clear_model_configs() -> None:
    with _lock:
        _configs.clear()


def known_config_names() -> list[str]:
    with _lock:
        return sorted(_configs)


def get_model_config(config_name: str) -> ModelConfig:
    with _lock:
        found = _configs.get(config_name)
        known = sorted(_configs)
    if found is None:
        raise UnknownModelConfigError(
            f"model config {config_name!r} is not loaded; known: {', '.join(map(repr, known)) or 'none'} "
            "(load configs with msagent.init(model_configs=...))",
            config_name=config_name, known=known,
        )  # fmt: skip
    return found


def snapshot() -> list[dict[str, Any]]:
    """All configs as plain dicts, to install in another process (a distributed agent's actor)."""
    with _lock:
        return [c.model_dump() for c in _configs.values()]


def install(configs: list[dict[str, Any]]) -> None:
    """Make ``configs`` this process's (a distributed agent's actor takes its driver's)."""
    parsed = parse_model_configs(configs)
    with _lock:
        _configs.update((c.config_name, c) for c in parsed)
