"""Recovery at start and the monitor loop (XAgent's ToolServerMonitor).

Recovery: records whose container vanished are dropped; running containers with this manager's
labels are adopted by new nodes (a pool-born node's labels predate its tool: its ``/health`` says
which tool and tenant it serves); unassigned pool containers and stopped ones are removed. The monitor stops nodes
idle longer than ``idle_minutes`` and notices containers that died or vanished.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from deploy.tool_manager import handles
from deploy.tool_manager.container import (
    LABEL,
    LABEL_MANAGER,
    LABEL_POOL,
    LABEL_TENANT,
    LABEL_TOOL,
    ContainerLimits,
    list_containers,
    node_url,
)
from deploy.tool_manager.errors import ManagerError
from deploy.tool_manager.node import NodeSpec
from deploy.tool_manager.store import NodeRecord
from deploy.tool_node.secret import SECRET_ENV, auth_header

if TYPE_CHECKING:
    from deploy.tool_manager.manager import ToolManager

log = logging.getLogger(__name__)


def _containers(manager_id: str) -> list[Any]:
    from deploy.tool_node.image import docker_client

    return list_containers(docker_client(), [f"{LABEL}=1", f"{LABEL_MANAGER}={manager_id}"])


async def recover(manager: ToolManager) -> None:
    try:
        containers = await asyncio.to_thread(_containers, manager.config.manager_id)
    except Exception as e:  # noqa: BLE001  (Docker down: start anyway, requests will say so)
        log.warning("recovery skipped: %s", e)
        return
    by_id = {c.id: c for c in containers}
    known: set[str] = set()
    for rec in manager.store.all():
        c = by_id.get(rec.container_id or "")
        if c is None:
            if rec.status in ("running", "pending"):
                log.info("dropping %s: its container vanished", rec.name)
                manager.store.delete(rec.tenant_id, rec.tool_name)
                manager.store.release_port(rec.port)
            continue
        known.add(c.id)
        await adopt(manager, rec, c.id)
    for c in containers:
        if c.id in known:
            continue
        labels = c.labels or {}
        env = dict(e.split("=", 1) for e in c.attrs["Config"]["Env"] if "=" in e)
        port = int(env.get("TOOL_NODE_PORT", 0)) or None
        owner: tuple[str, str] | None = None
        secret = env.get(SECRET_ENV, "")
        tools = _json_list(env.get("TOOL_NAMES"))
        if c.status == "running" and LABEL_TOOL in labels:
            owner = labels[LABEL_TOOL], labels.get(LABEL_TENANT, "default")
        elif c.status == "running" and labels.get(LABEL_POOL) == "1" and port:
            # a pool-born node: its labels predate its tool, its server knows tool, tools and tenant
            assigned = await asyncio.to_thread(_assigned, c, port, secret)
            owner, tools = (assigned[:2], assigned[2]) if assigned else (None, None)
        if owner is None or manager.store.get(owner[1], owner[0]) is not None:
            await asyncio.to_thread(c.remove, force=True)
            continue
        # the node's name as the API shows it (the container's carries the manager id too)
        rec = NodeRecord(tenant_id=owner[1], tool_name=owner[0], name=f"{owner[0]}_{owner[1]}", image=c.attrs["Config"]["Image"],
                         port=port, tool_cfg=_json(env.get("TOOL_CFG", "{}")), container_id=c.id, secret=secret,
                         tools=tools)
        if rec.port:
            manager.store.release_port(rec.port)
            manager.store.allocate_port(rec.name, rec.port, rec.port)
        await adopt(manager, rec, c.id)
    # ports of the previous run's pool nodes (or of nodes dropped above) are free again
    names = {r.name for r in manager.store.all()}
    for port, holder in manager.store.port_owners().items():
        if holder not in names:
            manager.store.release_port(port)


async def adopt(manager: ToolManager, rec: NodeRecord, container_id: str) -> None:
    """A new node (actor) for ``rec`` owning its existing container."""
    spec = NodeSpec(name=rec.name, image=rec.image, port=rec.port or 0, manager_id=manager.config.manager_id,
                    tool_name=rec.tool_name, tenant_id=rec.tenant_id, tool_cfg=rec.tool_cfg, tools=rec.tools,
                    secret=rec.secret)
    node = handles.new_node(spec, manager.config.backend)
    try:
        state = await handles.call(node, "adopt", container_id)
    except Exception as e:  # noqa: BLE001
        handles.release(node)
        manager._set(rec, status="failed", message=f"could not adopt the container after a restart: {e}")
        return
    manager.nodes[(rec.tenant_id, rec.tool_name)] = node
    manager._last_used[(rec.tenant_id, rec.tool_name)] = time.time()  # its last call is unknown: a fresh idle window
    manager._set(rec, status=state.status, url=state.url, message=state.message)
    log.info("adopted %s (%s)", rec.name, state.status)


def _assigned(container: Any, port: int, secret: str) -> tuple[str, str, list[str] | None] | None:
    """(tool, tenant, tools) a pool-born node serves, asked from its ``/health``; None if unassigned."""
    import httpx

    try:
        url = node_url(container, port, ContainerLimits())
        health = httpx.get(f"{url}/health", timeout=2.0, headers=auth_header(secret)).json()
    except Exception:  # noqa: BLE001  (no answer: not adoptable)
        return None
    tool, tenant, tools = health.get("tool_name"), health.get("tenant_id"), health.get("requested")
    return (str(tool), str(tenant), tools if isinstance(tools, list) else None) if tool and tenant else None


def _json_list(text: str | None) -> list[str] | None:
    import json

    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return [str(v) for v in value] if isinstance(value, list) else None


def _json(text: str) -> dict:
    import json

    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def check_once(manager: ToolManager) -> None:
    """One monitor pass: stop idle nodes, mark dead ones, drop records of vanished containers."""
    now = time.time()
    for rec in manager.store.all():
        idle_after = (rec.idle_minutes or manager.config.idle_minutes) * 60
        key = (rec.tenant_id, rec.tool_name)
        node = manager.nodes.get(key)
        if node is None or rec.status not in ("running", "exited"):
            continue
        if rec.status == "running" and now - manager._last_used.get(key, rec.last_used) > idle_after \
                and not manager.busy(rec.tenant_id, rec.tool_name):
            log.info("stopping %s: idle for more than %g min", rec.name, idle_after / 60)
            await manager.remove(rec.tenant_id, rec.tool_name)
            manager._set(rec, status="exited", message="stopped by the monitor after being idle", url=None, port=None)
            continue
        try:
            state = await manager._node_state(rec, node)
        except ManagerError as e:  # Docker does not answer: look again next pass
            log.warning("monitor: %s", e.message)
            continue
        if state.message == "the container is gone":
            log.info("dropping %s: its container vanished", rec.name)
            gone = manager.nodes.pop(key, None)  # the node now holding it (a dead actor is replaced)
            if gone is not None:
                handles.release(gone)
            manager.store.delete(rec.tenant_id, rec.tool_name)
            manager.store.release_port(rec.port)
        elif state.status != rec.status:
            manager._set(rec, status=state.status, message=state.message)


async def run_monitor(manager: ToolManager) -> None:
    while True:
        await asyncio.sleep(manager.config.monitor_seconds)
        try:
            await check_once(manager)
        except Exception:  # noqa: BLE001  (the monitor must outlive one bad pass)
            log.warning("monitor pass failed", exc_info=True)
