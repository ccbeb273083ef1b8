"""Function calling for models without native support: prompt protocols (ReAct, Qwen)."""

from msagent.llm.fncall.base import FncallProtocol, get_protocol
from msagent.llm.fncall.parser import CallStreamParser, normalize_arguments

__all__ = ["CallStreamParser", "FncallProtocol", "get_protocol", "normalize_arguments"]
