"""``AgentBase``: an LLM and a set of tools; ``Agent`` adds msagent's contract
``run(query, history=None, **kw) -> Iterator[str]`` (Qwen-Agent's ``Assistant`` has its own ``run``).

``__init__`` is cooperative: keywords it does not know are kept in ``extra_kwargs`` (mixins such as
``AgentEnvMixin`` take theirs before it), never passed on to ``object``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

from msagent.errors import ConfigError
from msagent.llm import ChatModel, LLMConfig, get_chat_model
from msagent.schemas import Message, ToolSpec
from msagent.tools import BaseTool, get_tool

ToolItem = str | dict[str, Any] | BaseTool


class AgentBase:
    def __init__(
        self,
        function_list: Sequence[ToolItem] | None = None,
        llm: ChatModel | LLMConfig | dict[str, Any] | None = None,
        instruction: str | dict[str, Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        storage_path: str | None = None,
        use_tool_api: bool = False,
        tenant_id: str = "default",
        tool_api: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.llm: ChatModel | None = get_chat_model(llm) if llm is not None else None
        self.instruction = instruction
        self.name = name
        self.description = description
        self.storage_path = storage_path
        self.use_tool_api = use_tool_api
        self.tenant_id = tenant_id
        # ToolServiceProxy options with use_tool_api (url, token, tool_image, start_timeout, call_timeout)
        self.tool_api = dict(tool_api or {})
        self.extra_kwargs: dict[str, Any] = dict(kwargs)
        self.function_map: dict[str, BaseTool] = {}
        try:
            for item in function_list or []:
                self._add_tool(item)
        except Exception:
            self.close()
            raise

    # --- tools ------------------------------------------------------------------------------------
    def _add_tool(self, item: ToolItem) -> None:
        if isinstance(item, dict) and "mcpServers" in item:  # MCP servers: one tool per server tool
            from msagent.tools.mcp import mcp_tools  # imports the MCP SDK only when used

            for mcp_tool in mcp_tools(item, taken=self.function_map, use_tool_api=self.use_tool_api,
                                      tenant_id=self.tenant_id, tool_api=self.tool_api):
                self.function_map[mcp_tool.name] = mcp_tool
            return
        if isinstance(item, BaseTool):
            tool = item
        elif isinstance(item, str):
            tool = self._build_tool(item, {})
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            cfg = {k: v for k, v in item.items() if k != "name"}
            tool = self._build_tool(item["name"], cfg)
        else:
            raise ConfigError(
                f"function_list item {item!r} is not a tool name, a {{'name': ..., **cfg}} dict or a BaseTool",
                field="function_list",
            )
        if tool.name in self.function_map:
            raise ConfigError(f"tool {tool.name!r} is listed twice in function_list", field="function_list")
        self.function_map[tool.name] = tool

    def _build_tool(self, name: str, cfg: dict[str, Any]) -> BaseTool:
        if self.use_tool_api:
            from msagent.tools.service_proxy import ToolServiceProxy  # needs the tool manager

            return ToolServiceProxy(name, cfg, tenant_id=self.tenant_id, **self.tool_api)
        return get_tool(name, cfg)

    @property
    def tool_specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self.function_map.values()]

    def close(self) -> None:
        """Release the tools' resources (kernels, HTTP clients)."""
        for tool in self.function_map.values():
            tool.close()

    def require_llm(self) -> ChatModel:
        if self.llm is None:
            raise ConfigError(f"agent {self.name or type(self).__name__!r} has no llm: pass llm={{'model': ...}}")
        return self.llm


class Agent(AgentBase, ABC):
    def run(self, query: str, history: Sequence[Message | dict] | None = None, **kwargs: Any) -> Iterator[str]:
        """Stream the reply to ``query`` as text chunks."""
        if not isinstance(query, str):
            raise ConfigError(f"query must be a string, not {type(query).__name__}")
        yield from self._run(query, history, **kwargs)

    @abstractmethod
    def _run(self, query: str, history: Sequence[Message | dict] | None = None, **kwargs: Any) -> Iterator[str]:
        """The agent's behaviour; yields text chunks as they come."""
