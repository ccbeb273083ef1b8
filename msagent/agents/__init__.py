"""Agents: ``Agent`` (the base), ``RolePlay`` (role, tools, memory), and ``AgentEnvMixin``."""

from msagent.agents.base import Agent
from msagent.agents.env_mixin import AgentEnvMixin
from msagent.agents.role_play import RolePlay, RunRecord

__all__ = ["Agent", "AgentEnvMixin", "RolePlay", "RunRecord"]
