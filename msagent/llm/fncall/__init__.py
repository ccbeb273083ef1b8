"""Function calling for models without native support: prompt protocols (ReAct, Qwen)."""

from msagent.llm.fncall.base import FncallProtocol, get_protocol
from msagent.llm.fncall.parser import CallStreamParser, normalize_arguments
from msagent.llm.fncall.qwen import QwenProtocol
from msagent.llm.fncall.react import ReactProtocol

__all__ = [
    "CallStreamParser",
    "FncallProtocol",
    "QwenProtocol",
    "ReactProtocol",
    "get_protocol",
    "normalize_arguments",
]
