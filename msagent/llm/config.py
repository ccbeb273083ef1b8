"""LLM configuration in the shape ModelScope-Agent and Qwen-Agent users write."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Qwen-Agent's generate_cfg keys that steer function calling: taken out of the settings sent to the
# server and kept as config fields (key -> field)
_QWEN_CONTROL_KEYS = {
    "fncall_prompt_type": "fncall_prompt",
    "use_raw_api": "native_tool_calling",
    "parallel_function_calls": "parallel_tool_calls",
    "function_choice": "tool_choice",
    "max_retries": "max_retries",
}


class GenerationSettings(BaseModel):
    """Per-call settings passed through to the back-end; unknown keys pass through too."""

    model_config = ConfigDict(extra="allow")

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    seed: int | None = None

    def merged(self, **overrides: Any) -> GenerationSettings:
        data = self.model_dump(exclude_none=True)
        data.update({k: v for k, v in overrides.items() if v is not None})
        if isinstance(data.get("stop"), str):
            data["stop"] = [data["stop"]]
        return GenerationSettings(**data)

    def extra_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class LLMConfig(BaseModel):
    """``{'model': 'qwen-max', 'model_server': 'dashscope', 'api_key': ...}`` or
    ``{'model': ..., 'model_server': 'openai', 'api_base': 'http://.../v1'}``.

    ``model_server`` may also be a URL (Qwen-Agent style), meaning an OpenAI-compatible server such
    as vLLM or llama.cpp, which lack native function calling: there the default is Qwen-Agent's
    ✿FUNCTION✿ prompt (``fncall_prompt='qwen'``, ``native_tool_calling=False``); pass
    ``'native_tool_calling': True`` for a server that has it. Qwen-Agent's ``generate_cfg`` keys
    ``fncall_prompt_type``, ``use_raw_api``, ``parallel_function_calls``, ``function_choice`` and
    ``max_retries`` set the matching fields here.
    """

    model_config = ConfigDict(extra="allow")

    model: str = ""
    model_server: str = "openai"
    api_base: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    native_tool_calling: bool | None = None
    fncall_prompt: Literal["react", "qwen"] = "react"
    # defaults for calls that do not say (None: True for msagent's chat, Qwen-Agent's rule for theirs)
    parallel_tool_calls: bool | None = None
    tool_choice: str | None = None
    generate_cfg: dict[str, Any] = Field(default_factory=dict)
    timeout: float = 60.0
    max_retries: int = 3

    @model_validator(mode="before")
    @classmethod
    def _seed_shapes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        generate = dict(data.get("generate_cfg") or {})
        for key, field in _QWEN_CONTROL_KEYS.items():
            if key in generate:
                value = generate.pop(key)
                data.setdefault(field, value)
        if "generate_cfg" in data:
            data["generate_cfg"] = generate
        server = str(data.get("model_server") or "")
        if server.startswith(("http://", "https://")):
            data.update(model_server="openai", api_base=data.get("api_base") or server)
            data.setdefault("native_tool_calling", False)
            data.setdefault("fncall_prompt", "qwen")
        for key in ("native_tool_calling", "fncall_prompt"):
            if data.get(key) is None:
                data.pop(key, None)
        if data.get("fncall_prompt", "react") not in ("react", "qwen"):
            raise ValueError(f"fncall_prompt {data['fncall_prompt']!r} is not supported; use 'qwen' or 'react'")
        return data

    def generation(self) -> GenerationSettings:
        return GenerationSettings(**self.generate_cfg)
