"""LLM back-ends behind one chat interface (``get_chat_model(cfg).chat(...)``; Qwen-Agent's call shape
with message dicts and ``functions=`` too, see ``qwen_style``)."""

from msagent.llm.base import ChatModel, ChatResult, ToolChoice
from msagent.llm.config import GenerationSettings, LLMConfig
from msagent.llm.events import (
    FinishEvent,
    LLMEvent,
    TextDelta,
    ToolCallEvent,
    ToolCallPartial,
    Usage,
    UsageEvent,
)
from msagent.llm.fake import FunctionModel, ScriptedModel, ScriptedTurn
from msagent.llm.registry import get_chat_model, model_servers, register_model_server

__all__ = [
    "ChatModel",
    "ChatResult",
    "FinishEvent",
    "FunctionModel",
    "GenerationSettings",
    "LLMConfig",
    "LLMEvent",
    "ScriptedModel",
    "ScriptedTurn",
    "TextDelta",
    "ToolCallEvent",
    "ToolCallPartial",
    "ToolChoice",
    "Usage",
    "UsageEvent",
    "get_chat_model",
    "model_servers",
    "register_model_server",
]
