"""Agents: ``Agent`` (the base), ``RolePlay`` (role, tools, memory), ``AgentEnvMixin``, and
Qwen-Agent's ``Assistant`` (message lists in, growing response lists out)."""

from msagent.agents.assistant import Assistant
from msagent.agents.base import Agent, AgentBase
from msagent.agents.env_mixin import AgentEnvMixin
from msagent.agents.role_play import RolePlay, RunRecord

__all__ = ["Agent", "AgentBase", "AgentEnvMixin", "Assistant", "RolePlay", "RunRecord"]
