"""msagent: a Ray-based distributed multi-agent runtime."""

from msagent.errors import MsagentError
from msagent.llm import ChatModel, FunctionModel, LLMConfig, ScriptedModel, ScriptedTurn, get_chat_model
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
    "get_chat_model",
]
