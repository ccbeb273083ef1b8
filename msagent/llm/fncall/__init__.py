"""Function calling for models without native support: prompt protocols (ReAct, Qwen)."""

from msagent.llm.fncall.base import FncallProtocol, get_protocol

__all__ = ["FncallProtocol", "get_protocol"]
