"""Agents: ``Agent`` (the base), ``RolePlay`` (role, tools, memory), ``AgentEnvMixin``, and
Qwen-Agent's ``Assistant`` (message lists in, growing response lists out); AgentScope's ``AgentBase``,
``DialogAgent``, ``DictDialogAgent`` and ``UserAgent`` (seed 003 pins ``AgentBase`` here: the base of
``Agent`` is ``msagent.agents.base.AgentBase``)."""

from msagent.agents.agentscope import AgentBase, DialogAgent, DictDialogAgent, UserAgent
from msagent.agents.assistant import Assistant
from msagent.agents.base import Agent
from msagent.agents.env_mixin import AgentEnvMixin
from msagent.agents.role_play import RolePlay, RunRecord

__all__ = [
    "Agent",
    "AgentBase",
    "AgentEnvMixin",
    "Assistant",
    "DialogAgent",
    "DictDialogAgent",
    "RolePlay",
    "RunRecord",
    "UserAgent",
]
