"""Qwen-Agent's ``TextChatAtOAI``: an OpenAI-compatible server (vLLM, llama.cpp, ...) reached with
the ✿FUNCTION✿ prompt, ``from msagent.llm.oai import TextChatAtOAI; TextChatAtOAI(llm_cfg)``.

It is the one OpenAI-compatible back-end with the prompt protocol as default; ``chat`` answers
Qwen-Agent's way for message dicts (``msagent.llm.qwen_style``).
"""

from __future__ import annotations

from typing import Any

from msagent.llm.config import LLMConfig
from msagent.llm.openai_compat import OpenAICompatModel


class TextChatAtOAI(OpenAICompatModel):
    def __init__(self, cfg: LLMConfig | dict[str, Any]) -> None:
        data = cfg.model_dump(exclude_unset=True) if isinstance(cfg, LLMConfig) else dict(cfg)
        for key, value in (("model_server", "openai"), ("native_tool_calling", False), ("fncall_prompt", "qwen")):
            if data.get(key) is None:
                data[key] = value
        super().__init__(LLMConfig.model_validate(data))
