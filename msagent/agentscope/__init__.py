"""AgentScope's programming model (seed 003) on the msagent runtime.

The names users import are where AgentScope has them, with ``agentscope`` -> ``msagent``:
``msagent.init``, ``msagent.msghub``, ``msagent.message.Msg``, ``msagent.agents`` (``AgentBase``,
``DialogAgent``, ``DictDialogAgent``, ``UserAgent``), ``msagent.pipelines`` (and
``.functional``). This package holds the parts behind them, each a thin layer over the core:

- ``model_configs`` / ``models``: AgentScope model configs and wrappers over msagent's one model
  layer (``LLMConfig`` / ``get_chat_model``); ``post_api`` is a back-end in its registry;
- ``hub`` (with ``route``): ``msghub`` on an ``Environment`` (routing, durable log, acknowledgements);
- ``distributed``, ``server``, ``placeholder``: ``agent.to_dist()`` is an ``AgentServer`` actor made
  by ``create_component(..., remote=True)``; calls return a ``PlaceholderMsg`` at once;
- ``session``: ``init``, ``shutdown``, ``transcript``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "init": "msagent.agentscope.session",
    "shutdown": "msagent.agentscope.session",
    "transcript": "msagent.agentscope.session",
    "msghub": "msagent.agentscope.hub",
    "MsgHubManager": "msagent.agentscope.hub",
    "launch_server": "msagent.agentscope.distributed",
    "DistributedAgent": "msagent.agentscope.distributed",
    "PlaceholderMsg": "msagent.agentscope.placeholder",
    "ModelResponse": "msagent.agentscope.models",
    "ModelWrapperBase": "msagent.agentscope.models",
    "load_model_by_config_name": "msagent.agentscope.models",
    "read_model_configs": "msagent.agentscope.model_configs",
    "clear_model_configs": "msagent.agentscope.model_configs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # imported on first use: these modules import the agents, which import this package's models
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'msagent.agentscope' has no attribute {name!r}")
