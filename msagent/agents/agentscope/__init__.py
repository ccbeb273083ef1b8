"""AgentScope's agents (seed 003): ``AgentBase``, ``DialogAgent``, ``DictDialogAgent``, ``UserAgent``,
exported as ``msagent.agents``. See ``msagent.agentscope`` for the programming model around them."""

from msagent.agents.agentscope.base import AgentBase
from msagent.agents.agentscope.dialog import DialogAgent
from msagent.agents.agentscope.dict_dialog import DictDialogAgent
from msagent.agents.agentscope.memory import TemporaryMemory
from msagent.agents.agentscope.user import UserAgent

__all__ = ["AgentBase", "DialogAgent", "DictDialogAgent", "TemporaryMemory", "UserAgent"]
