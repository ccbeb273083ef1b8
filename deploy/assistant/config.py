"""Server configuration: command-line flags, then the seed's environment variables, then defaults."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PORT = 31512
# keys clients send when they have none (the seed's examples use api_key="empty")
PLACEHOLDER_KEYS = frozenset({"", "empty", "none", "null", "no-key", "sk-no-key-required", "fake"})


class AssistantConfig(BaseModel):
    """What the service needs to know; plain data so it travels into Serve replicas."""

    model_config = ConfigDict(extra="forbid")

    model_server: str = "dashscope"
    api_base: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    model: str = ""
    # None: the back-end's own default; False: the prompt protocol (ReAct/Qwen) for every call
    native_tool_calling: bool | None = None
    fncall_prompt: str = "react"
    timeout: float = 60.0
    max_retries: int = 0
    # more LLM config keys (e.g. 'replies' for the scripted model)
    llm_extra: dict[str, Any] = Field(default_factory=dict)
    max_upload_bytes: int = 20 * 1024 * 1024
    # request bodies over this get 413 (uploads: max_upload_bytes per file instead)
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    knowledge_dir: str | None = None
    worker_threads: int = 64
    # assistants/lite runs its tools in tool-node containers through the tool manager
    use_tool_api: bool = False
    tool_manager_url: str | None = None  # default: TOOL_MANAGER_SERVICE_URL, then http://localhost:31511
    tool_manager_token: str | None = Field(default=None, repr=False)  # default: TOOL_MANAGER_AUTH, TOOL_MANAGER_TOKEN
    tool_tenant_id: str = "default"

    def tool_api(self) -> dict[str, Any]:
        """ToolServiceProxy options for the agents this server builds."""
        return {k: v for k, v in (("url", self.tool_manager_url), ("token", self.tool_manager_token)) if v}

    @classmethod
    def from_env(cls, **overrides: Any) -> AssistantConfig:
        """MODEL_SERVER, OPENAI_API_BASE, OPENAI_API_KEY, DASHSCOPE_API_KEY as in the seed."""
        server = overrides.get("model_server") or os.environ.get("MODEL_SERVER") or "dashscope"
        data: dict[str, Any] = {"model_server": server}
        if server.lower() in ("openai", "vllm", "vllm-server", "ollama") or server.startswith("http"):
            data["api_base"] = os.environ.get("OPENAI_API_BASE") or None
            data["api_key"] = os.environ.get("OPENAI_API_KEY") or None
        elif server.lower() == "dashscope":
            data["api_key"] = os.environ.get("DASHSCOPE_API_KEY") or None
        # the tool manager's token: the client's (TOOL_MANAGER_AUTH), else a co-deployed manager's own
        data["tool_manager_token"] = os.environ.get("TOOL_MANAGER_AUTH") or os.environ.get("TOOL_MANAGER_TOKEN") or None
        data.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(data)

    def llm_config(self, *, model: str = "", api_key: str | None = None, **more: Any) -> dict[str, Any]:
        """The LLM config of one request: the request's model and key over the server's."""
        cfg: dict[str, Any] = {
            "model_server": self.model_server,
            "model": model or self.model,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "fncall_prompt": self.fncall_prompt,
            **self.llm_extra,
        }
        if self.api_base:
            cfg["api_base"] = self.api_base
        key = api_key if api_key and api_key.lower() not in PLACEHOLDER_KEYS else self.api_key
        if key:
            cfg["api_key"] = key
        if self.native_tool_calling is not None:
            cfg["native_tool_calling"] = self.native_tool_calling
        cfg.update({k: v for k, v in more.items() if v is not None})
        return cfg
