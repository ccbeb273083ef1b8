"""The warm pool: a few started nodes without a tool. A create with the default image and default
container settings takes one (``/assign`` + rename: milliseconds) instead of starting a container."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING, Any

from deploy.tool_manager import handles
from deploy.tool_manager.node import NodeSpec, NodeState
from deploy.tool_manager.store import NodeRecord
from msagent.schemas import new_id

if TYPE_CHECKING:
    from deploy.tool_manager.manager import ToolManager

log = logging.getLogger(__name__)


class WarmPool:
    def __init__(self, manager: ToolManager) -> None:
        self.manager = manager
        self.ready: list[tuple[Any, NodeSpec, NodeState]] = []
        # a node being started: its start runs on (shielded) when the filler is cancelled, so that
        # drain() can wait for it and remove its container rather than leave it behind
        self.starting: dict[str, tuple[Any, NodeSpec, asyncio.Future]] = {}
        self._filling = False

    async def fill(self) -> None:
        """Start nodes until ``pool_size`` are ready (one filler at a time)."""
        if self._filling:
            return
        self._filling = True
        cfg = self.manager.config
        try:
            while len(self.ready) < cfg.pool_size:
                owner = new_id("pool-")[:17]
                port = self.manager.store.allocate_port(owner, cfg.port_start, cfg.port_end)
                if port is None:
                    return
                spec = NodeSpec(name=f"msagent-pool-{cfg.manager_id}-{owner[5:]}", image=cfg.default_image,
                                port=port, manager_id=cfg.manager_id, secret=secrets.token_urlsafe(24))
                node = handles.new_node(spec, cfg.backend)
                start = asyncio.ensure_future(handles.call(node, "start", cfg.start_timeout))
                self.starting[spec.name] = (node, spec, start)
                try:
                    state = await asyncio.shield(start)
                except asyncio.CancelledError:
                    raise  # the manager closes: drain() ends this start and removes the node
                except Exception as e:  # noqa: BLE001  (no pool: creates are cold, still correct)
                    del self.starting[spec.name]
                    log.warning("warm pool node did not start: %s", e)
                    handles.release(node)
                    self.manager.store.release_port(port)
                    return
                del self.starting[spec.name]
                self.ready.append((node, spec, state))
        finally:
            self._filling = False

    async def take(self, rec: NodeRecord) -> NodeRecord | None:
        """Turn a ready pool node into ``rec``'s node; None when the pool is empty."""
        if not self.ready:
            return None
        node, spec, _ = self.ready.pop(0)
        self.manager.spawn(self.fill())
        try:
            state = await handles.call(node, "assign", rec.name, rec.tool_name, rec.tenant_id, rec.tool_cfg,
                                       rec.tools)
        except Exception as e:  # noqa: BLE001  (fall back to a cold start)
            log.warning("warm node could not take %s: %s", rec.name, e)
            await self._discard(node, spec)
            return None
        self.manager.store.set_port_owner(spec.port, rec.name)
        self.manager.nodes[(rec.tenant_id, rec.tool_name)] = node
        return self.manager._set(rec, port=spec.port, status="running", container_id=state.container_id,
                                 url=state.url, message="", secret=spec.secret)  # the node keeps its secret

    async def _discard(self, node: Any, spec: NodeSpec) -> None:
        try:
            await handles.call(node, "remove")
        finally:
            handles.release(node)
            self.manager.store.release_port(spec.port)

    async def drain(self) -> None:
        """Remove every pool node: the ready ones, and those still starting once their start ends
        (call it after cancelling the filler)."""
        ready, self.ready = self.ready, []
        starting, self.starting = list(self.starting.values()), {}
        await asyncio.gather(*(start for _, _, start in starting), return_exceptions=True)
        gone = [(n, s) for n, s, _ in ready] + [(n, s) for n, s, _ in starting]
        await asyncio.gather(*(self._discard(n, s) for n, s in gone), return_exceptions=True)
