"""The runtime switch (``create_component``), identities, and calls that work on objects and actors."""

from msagent.runtime.calls import call, call_many, is_actor, iter_call
from msagent.runtime.component import create_component, get_component, kill_component
from msagent.runtime.fanout import fan_out
from msagent.runtime.ids import ComponentId, Role

__all__ = [
    "ComponentId",
    "Role",
    "call",
    "call_many",
    "create_component",
    "fan_out",
    "get_component",
    "is_actor",
    "iter_call",
    "kill_component",
]
