"""Registers the built-in back-ends. Each is one line: they use the same registry as plugins."""

from __future__ import annotations

from msagent.llm.dashscope_model import dashscope_from_config
from msagent.llm.fake import scripted_from_config
from msagent.llm.local_llama import local_from_config
from msagent.llm.openai_compat import openai_from_config
from msagent.llm.post_api import post_api_from_config
from msagent.llm.registry import register_model_server

register_model_server("scripted")(scripted_from_config)
register_model_server("local")(local_from_config)
register_model_server(
    "openai", "vllm", "vllm-server", "ollama", "llama.cpp", "llamacpp", "openai-compatible"
)(openai_from_config)
register_model_server("dashscope")(dashscope_from_config)
register_model_server("post_api")(post_api_from_config)
