"""msagent: a Ray-based distributed multi-agent runtime."""

from typing import TYPE_CHECKING

from msagent.errors import MsagentError

if TYPE_CHECKING:  # what the lazy names below are, for type checkers
    from msagent.agentscope.hub import msghub  # noqa: F401
    from msagent.agentscope.session import init  # noqa: F401
    from msagent.llm import ChatModel, FunctionModel, LLMConfig, ScriptedModel, ScriptedTurn, get_chat_model
    from msagent.runtime.component import create_component
    from msagent.schemas import DEFAULT_SEND_TO, USER_REQUIREMENT, FunctionCall, Message, ToolCall, ToolSpec

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SEND_TO",
    "USER_REQUIREMENT",
    "ChatModel",
    "FunctionCall",
    "FunctionModel",
    "LLMConfig",
    "Message",
    "MsagentError",
    "ScriptedModel",
    "ScriptedTurn",
    "ToolCall",
    "ToolSpec",
    "create_component",
    "get_chat_model",
]


# Imported on first use, so that a process importing one part (an Environment actor restarting,
# a tool node) does not pay for the model clients and pydantic schemas it never touches.
_RUNTIME_EXPORTS = {
    **dict.fromkeys(["ChatModel", "FunctionModel", "LLMConfig", "ScriptedModel", "ScriptedTurn", "get_chat_model"],
                    "msagent.llm"),
    "create_component": "msagent.runtime.component",
    **dict.fromkeys(["DEFAULT_SEND_TO", "USER_REQUIREMENT", "FunctionCall", "Message", "ToolCall", "ToolSpec"],
                    "msagent.schemas"),
    "Environment": "environment",
    "AgentRegistry": "registry",
    "TaskCenter": "task_center",
    "AgentEnvMixin": "msagent.agents.env_mixin",
    # AgentScope's entry points (seed 003): msagent.init(model_configs=...), from msagent import msghub
    "init": "msagent.agentscope.session",
    "msghub": "msagent.agentscope.hub",
}


def __getattr__(name: str) -> object:
    # Imported on first use (the top-level runtime packages import msagent themselves).
    if name in _RUNTIME_EXPORTS:
        import importlib

        return getattr(importlib.import_module(_RUNTIME_EXPORTS[name]), name)
    raise AttributeError(f"module 'msagent' has no attribute {name!r}")
