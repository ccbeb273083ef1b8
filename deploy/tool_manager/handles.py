"""Node handles: a Ray actor hosting ``ToolNode`` or, under plain uvicorn, a local one. Calls on
either are awaited the same way, and the local one's blocking Docker calls run in a thread."""

from __future__ import annotations

import asyncio
from typing import Any

from deploy.tool_manager.node import NodeSpec, ToolNode, actor_class


def new_node(spec: NodeSpec, backend: str) -> Any:
    if backend == "ray":
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        # on the manager's own machine: its container sits on that Docker engine's internal bridge,
        # which only that host reaches (in a cluster of many machines, another node could not)
        here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
        return actor_class().options(scheduling_strategy=here).remote(spec.model_dump())
    return ToolNode(spec)


async def call(node: Any, method: str, *args: Any) -> Any:
    if isinstance(node, ToolNode):
        return await asyncio.to_thread(getattr(node, method), *args)
    return await getattr(node, method).remote(*args)


def release(node: Any) -> None:
    """Drop an actor (its container is already removed or deliberately kept)."""
    if not isinstance(node, ToolNode):
        import ray

        ray.kill(node, no_restart=True)
