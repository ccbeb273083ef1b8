"""LLM configuration in the shape ModelScope-Agent and Qwen-Agent users write."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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

    ``model_server`` may also be a URL (Qwen-Agent style), meaning an OpenAI-compatible server.
    """

    model_config = ConfigDict(extra="allow")

    model: str = ""
    model_server: str = "openai"
    api_base: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    native_tool_calling: bool | None = None
    fncall_prompt: Literal["react", "qwen"] = "react"
    generate_cfg: dict[str, Any] = Field(default_factory=dict)
    timeout: float = 60.0
    max_retries: int = 3

    @model_validator(mode="before")
    @classmethod
    def _url_as_server(cls, data: Any) -> Any:
        if isinstance(data, dict):
            server = str(data.get("model_server") or "")
            if server.startswith(("http://", "https://")):
                data = {**data, "model_server": "openai", "api_base": data.get("api_base") or server}
        return data

    def generation(self) -> GenerationSettings:
        return GenerationSettings(**self.generate_cfg)
