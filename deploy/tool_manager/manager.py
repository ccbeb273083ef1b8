"""``ToolManager``: tool nodes per tenant — create (cold, or from the warm pool), status, info,
execute (proxied straight to the node's server), remove — with records and ports in SQLite.

Async throughout; every Docker call happens in a node (an actor, or a worker thread).
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import secrets
import socket
import time
from typing import Any

import httpx

from deploy.tool_manager import handles
from deploy.tool_manager.config import ManagerConfig
from deploy.tool_manager.container import ContainerLimits
from deploy.tool_manager.errors import ManagerError, not_ready
from deploy.tool_manager.node import NodeSpec, NodeState
from deploy.tool_manager.pool import WarmPool
from deploy.tool_manager.store import NodeRecord, NodeStore
from deploy.tool_node.secret import auth_header
from msagent.errors import ConfigError, MsagentError
from msagent.schemas import new_id
from msagent.settings import data_dir

log = logging.getLogger(__name__)


class ToolManager:
    def __init__(self, config: ManagerConfig | None = None) -> None:
        self.config = config or ManagerConfig()
        # one database per manager id: another manager's records are not this one's to recover or drop
        self.store = NodeStore(self.config.db_path or data_dir("tool_manager") / f"{self.config.manager_id}.db")
        self.nodes: dict[tuple[str, str], Any] = {}  # (tenant, tool) -> node handle
        self.pool = WarmPool(self)
        self._events: dict[tuple[str, str], asyncio.Event] = {}
        self._calls: dict[str, tuple[str, str, asyncio.Task]] = {}  # call id -> (tenant, tool, its task)
        self._inflight: dict[tuple[str, str], int] = {}  # requests being answered by each node
        self._last_used: dict[tuple[str, str], float] = {}
        self._http: httpx.AsyncClient | None = None
        self._started = False
        self._start_lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task] = set()

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._started:
            return
        self._start_lock = self._start_lock or asyncio.Lock()
        async with self._start_lock:
            if self._started:
                return
            self._http = httpx.AsyncClient(timeout=None, limits=httpx.Limits(max_keepalive_connections=64))
            from deploy.tool_manager.monitor import recover, run_monitor

            await recover(self)
            self.spawn(run_monitor(self))
            self.spawn(self.pool.fill())
            self._started = True

    def spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self, remove_nodes: bool = False) -> None:
        for task in list(self._tasks):
            task.cancel()
        if remove_nodes:
            for rec in self.store.all():
                await self.remove(rec.tenant_id, rec.tool_name)
        await self.pool.drain()
        if self._http is not None:
            await self._http.aclose()

    # --- records ---------------------------------------------------------------------------------
    def record(self, tenant_id: str, tool_name: str) -> NodeRecord:
        rec = self.store.get(tenant_id, tool_name)
        if rec is None:
            raise ManagerError(404, f"no tool service '{tool_name}' for tenant '{tenant_id}'; create it first "
                                    "with POST /create_tool_service")
        return rec

    def _set(self, rec: NodeRecord, **update: Any) -> NodeRecord:
        rec = rec.model_copy(update=update)
        self.store.put(rec)
        if rec.status != "pending":
            self._events.setdefault((rec.tenant_id, rec.tool_name), asyncio.Event()).set()
        return rec

    # --- create ----------------------------------------------------------------------------------
    async def create(self, tenant_id: str, tool_name: str, tool_cfg: dict, image: str | None,
                     tools: list[str] | None = None, idle_minutes: float | None = None) -> NodeRecord:
        """Start a node serving ``tool_name`` (or, under that name, ``tools``: ``["*"]`` is every tool
        of the image, an XAgent session) for the tenant; from the warm pool when one fits."""
        image = image or self.config.default_image
        try:
            limits = ContainerLimits.from_cfg(tool_cfg)
        except ConfigError as e:
            raise ManagerError(400, e.message) from None
        old = self.store.get(tenant_id, tool_name)
        if old is not None and old.status in ("pending", "running") and (tenant_id, tool_name) in self.nodes:
            return old
        if old is not None:
            await self.remove(tenant_id, tool_name)
        name = f"{tool_name}_{tenant_id}"
        if any(r.name == name for r in self.store.all()):
            raise ManagerError(409, f"the node name '{name}' is taken by another tenant's tool; pick another tool "
                                    "or tenant name")
        await self._check_image(image, tool_name, tool_cfg, tools)
        rec = NodeRecord(tenant_id=tenant_id, tool_name=tool_name, name=name, image=image, tool_cfg=tool_cfg,
                         tools=tools, idle_minutes=idle_minutes, secret=secrets.token_urlsafe(24))
        self._events[(tenant_id, tool_name)] = asyncio.Event()
        self._last_used[(tenant_id, tool_name)] = time.time()
        if image == self.config.default_image and limits.is_default():
            warm = await self.pool.take(rec)
            if warm is not None:
                return warm
        # a networked node publishes its port on the host: skip ports another program holds
        port = self.store.allocate_port(name, self.config.port_start, self.config.port_end,
                                        _host_port_free if limits.network else None)
        if port is None:
            raise ManagerError(503, f"no free port in {self.config.port_start}-{self.config.port_end}; remove "
                                    "unused tool services or widen the range")
        rec = self._set(rec, port=port, status="pending")
        spec = NodeSpec(name=name, image=image, port=port, manager_id=self.config.manager_id, tool_name=tool_name,
                        tenant_id=tenant_id, tool_cfg=tool_cfg, tools=tools, secret=rec.secret)
        node = handles.new_node(spec, self.config.backend)
        self.nodes[(tenant_id, tool_name)] = node
        self.spawn(self._start_node(rec, node))
        return rec

    async def _start_node(self, rec: NodeRecord, node: Any) -> None:
        try:
            state = await handles.call(node, "start", self.config.start_timeout)
        except Exception as e:  # noqa: BLE001  (reported in the record, not lost)
            log.warning("tool node %s failed to start: %s", rec.name, e)
            self.nodes.pop((rec.tenant_id, rec.tool_name), None)
            handles.release(node)
            self.store.release_port(rec.port)
            msg = e.message if isinstance(e, MsagentError) else str(e)
            self._set(rec, status="failed", message=msg)
            return
        self._set(rec, status="running", container_id=state.container_id, url=state.url, message="")

    async def _check_image(self, image: str, tool_name: str, tool_cfg: dict, tools: list[str] | None = None) -> None:
        """The image is present and serves the tool (its label lists its tools); a ``tool_cfg`` the
        tool rejects is a 400 now, when the tool's class is known here."""
        from msagent.tools import tool_names
        from msagent.tools.mcp.bridge import is_mcp_node

        served = await self.image_tools(image)
        if tools is not None:  # a set of tools (a session): each must be served
            missing = [t for t in tools if t != "*" and served is not None and t not in served]
            if missing:
                raise ManagerError(404, f"image '{image}' has no tool {', '.join(missing)}")
            return
        if served is not None and tool_name not in served and not is_mcp_node(tool_name):  # 'mcp.<name>': MCP
            raise ManagerError(404, f"unknown tool '{tool_name}'; the image {image} has: {', '.join(served)}")
        if is_mcp_node(tool_name) or tool_name in tool_names():
            _check_tool_cfg(tool_name, tool_cfg)

    async def image_tools(self, image: str) -> list[str] | None:
        """The tools an image serves (its ``msagent.tools`` label); None for an image without one."""
        import docker.errors

        from deploy.tool_node.image import IMAGE_REPO, docker_client, image_tool_names

        try:
            client = await asyncio.to_thread(docker_client)
            found = await asyncio.to_thread(client.images.get, image)
        except docker.errors.ImageNotFound:
            raise ManagerError(404, f"image '{image}' is not present; build it with `msagent build-image`") from None
        except MsagentError as e:
            raise ManagerError(503, e.message) from None
        served = image_tool_names(found)
        if served is None and image.startswith(IMAGE_REPO + ":"):  # built before images carried the label
            from msagent.tools import tool_names

            return tool_names()
        return served

    # --- status, info, remove --------------------------------------------------------------------
    async def status(self, tenant_id: str, tool_name: str, wait: float = 0.0) -> NodeRecord:
        rec = self.record(tenant_id, tool_name)
        if rec.status == "pending" and wait > 0:
            event = self._events.setdefault((tenant_id, tool_name), asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), wait)
            except asyncio.TimeoutError:
                pass
            rec = self.record(tenant_id, tool_name)
        node = self.nodes.get((tenant_id, tool_name))
        if rec.status == "running" and node is not None:
            state = await self._node_state(rec, node)
            if state.status != "running":
                rec = self._set(rec, status=state.status, message=state.message)
        elif rec.status == "running":
            rec = self._set(rec, status="exited", message="no node holds this record")
        return rec

    async def _node_state(self, rec: NodeRecord, node: Any) -> NodeState:
        """The node's view of its container. A node whose actor died (its container lives on) is
        replaced by a new actor adopting the container; Docker not answering is a 503."""
        try:
            return await handles.call(node, "state")
        except MsagentError as e:
            raise ManagerError(503, getattr(e, "message", str(e))) from None
        except Exception as e:  # noqa: BLE001  (the actor is gone: RayActorError and kin)
            log.warning("the node actor of %s died (%s); adopting its container again", rec.name, type(e).__name__)
        from deploy.tool_manager.monitor import adopt

        self.nodes.pop((rec.tenant_id, rec.tool_name), None)
        handles.release(node)
        if rec.container_id:
            await adopt(self, rec, rec.container_id)
        fresh = self.nodes.get((rec.tenant_id, rec.tool_name))
        if fresh is None:
            stored = self.store.get(rec.tenant_id, rec.tool_name)
            return NodeState(status=stored.status if stored else "exited",
                             message=stored.message if stored else "the node's actor died")
        return await handles.call(fresh, "state")

    async def remove(self, tenant_id: str, tool_name: str) -> NodeRecord:
        rec = self.record(tenant_id, tool_name)
        node = self.nodes.pop((tenant_id, tool_name), None)
        removed = False
        if node is not None:
            try:
                await handles.call(node, "remove")
                removed = True
            except Exception as e:  # noqa: BLE001  (a dead actor: remove its container here)
                log.warning("the node of %s could not remove its container (%s)", rec.name, type(e).__name__)
            finally:
                handles.release(node)
        if not removed and rec.container_id:
            await asyncio.to_thread(_remove_container, rec.container_id)
        self.store.release_port(rec.port)
        self.store.delete(tenant_id, tool_name)
        self._last_used.pop((tenant_id, tool_name), None)
        for call_id, (tenant, tool, task) in list(self._calls.items()):  # its pending calls end with it
            if (tenant, tool) == (tenant_id, tool_name):
                task.cancel()
                del self._calls[call_id]
        return rec.model_copy(update={"status": "exited"})

    def list(self, tenant_id: str) -> dict[str, str]:
        return {r.name: r.status for r in self.store.all(tenant_id)}

    async def _running(self, tenant_id: str, tool_name: str) -> NodeRecord:
        rec = self.record(tenant_id, tool_name)
        if rec.status != "running" or not rec.url:
            hint = f": {rec.message}" if rec.message else ""
            raise ManagerError(409, f"tool service '{rec.name}' is {rec.status}{hint}; wait for 'running' "
                                    "or create it again")
        self._last_used[(tenant_id, tool_name)] = time.time()
        return rec

    async def info(self, tenant_id: str, tool_name: str) -> dict[str, Any]:
        rec = await self._running(tenant_id, tool_name)
        r = await self._send(rec, "GET", "/tool_info", None, 10.0)
        return dict(r)

    # --- execute ---------------------------------------------------------------------------------
    async def execute(self, tenant_id: str, tool_name: str, params: str | dict, kwargs: dict,
                      wait: float | None = None, tool: str | None = None, wrapped: bool = False) -> Any:
        """Run the node's tool (``tool``: which one of a node serving several); ``wrapped``: the
        output in XAgent's wrapped form. With ``wait``, a longer call is a 202 ``not_ready``."""
        rec = await self._running(tenant_id, tool_name)
        timeout = ContainerLimits.from_cfg(rec.tool_cfg).timeout + 5
        body: dict[str, Any] = {"params": params, "kwargs": kwargs}
        if tool is not None:
            body["tool_name"] = tool
        if wrapped:
            body["wrapped"] = True
        if wait is None:
            return (await self._send(rec, "POST", "/execute_tool", body, timeout))["output"]
        task = asyncio.get_running_loop().create_task(self._send(rec, "POST", "/execute_tool", body, timeout))
        task.add_done_callback(_retrieved)
        return await self._await_call(new_id("call-"), rec, task, wait)

    async def result(self, tenant_id: str, call_id: str, wait: float) -> Any:
        entry = self._calls.get(call_id)
        if entry is None or entry[0] != tenant_id:
            raise ManagerError(404, f"no pending call '{call_id}' for tenant '{tenant_id}' (results are kept until "
                                    "fetched once)")
        rec = self.store.get(entry[0], entry[1])
        if rec is None:  # its node was removed meanwhile (its task is cancelled)
            self._calls.pop(call_id, None)
            raise ManagerError(404, f"call '{call_id}' is gone: its tool service was removed")
        return await self._await_call(call_id, rec, entry[2], wait)

    async def _await_call(self, call_id: str, rec: NodeRecord, task: asyncio.Task, wait: float) -> Any:
        done, _ = await asyncio.wait({task}, timeout=max(wait, 0.0))
        if not done:
            self._calls[call_id] = (rec.tenant_id, rec.tool_name, task)
            raise not_ready(call_id, rec.name)
        self._calls.pop(call_id, None)
        return task.result()["output"]

    def busy(self, tenant_id: str, tool_name: str) -> bool:
        """Whether the node is answering a request now (the monitor never stops such a node as idle)."""
        return self._inflight.get((tenant_id, tool_name), 0) > 0

    async def _send(self, rec: NodeRecord, method: str, path: str, body: Any, timeout: float) -> Any:
        r = await self._request(rec, method, path, timeout, json=body)
        try:
            data = r.json()
        except ValueError:
            data = {"detail": r.text}
        if r.status_code != 200:
            raise NodeCallError(r.status_code, str(data.get("detail", data)), str(data.get("error") or ""))
        return data

    async def _request(self, rec: NodeRecord, method: str, path: str, timeout: float, **kw: Any) -> httpx.Response:
        """One request to the node with its secret; a transport failure says what became of the node."""
        assert self._http is not None
        key = (rec.tenant_id, rec.tool_name)
        self._inflight[key] = self._inflight.get(key, 0) + 1
        try:
            # a node that is gone answers no connect: fail fast, whatever the call's own timeout
            return await self._http.request(method, f"{rec.url}{path}", timeout=httpx.Timeout(timeout, connect=5.0),
                                            headers=auth_header(rec.secret), **kw)
        except httpx.TimeoutException:
            raise ManagerError(504, f"tool service '{rec.name}' did not answer within {timeout:g} s") from None
        except httpx.TransportError as e:
            current = await self.status(rec.tenant_id, rec.tool_name)
            for _ in range(10):  # Docker may take a moment to see a killed container exit
                if current.status != "running":
                    break
                await asyncio.sleep(0.1)
                current = await self.status(rec.tenant_id, rec.tool_name)
            raise ManagerError(502, f"tool service '{rec.name}' is unreachable ({type(e).__name__}); its status is "
                                    f"now '{current.status}'{': ' + current.message if current.message else ''}; "
                                    "create it again") from None
        finally:
            left = self._inflight.get(key, 1) - 1
            if left:
                self._inflight[key] = left
            else:
                self._inflight.pop(key, None)
            if key in self.nodes:
                self._last_used[key] = time.time()  # idle counts from the end of the last answer

    async def node_tools(self, tenant_id: str, tool_name: str) -> builtins.list[dict[str, Any]]:
        """The specs (with ``env``) of every tool the node serves."""
        rec = await self._running(tenant_id, tool_name)
        return list((await self._send(rec, "GET", "/tools", None, 10.0))["tools"])

    async def node_raw(self, tenant_id: str, tool_name: str, method: str, path: str, timeout: float = 60.0,
                       **kw: Any) -> httpx.Response:
        """A node answer passed on as it is (workspace files); an error answer is a ``NodeCallError``."""
        rec = await self._running(tenant_id, tool_name)
        r = await self._request(rec, method, path, timeout, **kw)
        if r.status_code != 200:
            try:
                data = r.json()
            except ValueError:
                data = {"detail": r.text}
            raise NodeCallError(r.status_code, str(data.get("detail", data)), str(data.get("error") or ""))
        return r


class NodeCallError(ManagerError):
    """A node answered an error; ``kind`` is its error class (``ToolArgumentError``,
    ``WorkspacePathError``, ``ToolNotFoundError``, ...), so protocols can map it to their status."""

    def __init__(self, status: int, message: str, kind: str = "") -> None:
        super().__init__(status, message)
        self.kind = kind

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.message, self.kind))


def _check_tool_cfg(tool_name: str, tool_cfg: dict) -> None:
    """Build the tool once here (tools build cheaply; kernels and clients start on first call), so a
    ``tool_cfg`` the tool rejects is a 400 now rather than a node that fails to start."""
    from msagent.tools.mcp.bridge import node_tool

    try:
        tool = node_tool(tool_name, tool_cfg)
    except (MsagentError, TypeError, ValueError) as e:
        msg = e.message if isinstance(e, MsagentError) else str(e)
        raise ManagerError(400, f"bad tool_cfg for '{tool_name}': {msg}") from None
    tool.close()


def _retrieved(task: asyncio.Task) -> None:
    """A call nobody fetched (its node removed, its client gone) must not log 'never retrieved'."""
    if not task.cancelled():
        task.exception()


def _host_port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _remove_container(container_id: str) -> None:
    """Remove a node's container without its node; Docker down is a 503 (the record stays)."""
    import docker.errors

    from deploy.tool_node.image import docker_client

    try:
        docker_client().containers.get(container_id).remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as e:
        if e.status_code != 409:  # 409: its removal is already in progress
            raise ManagerError(502, f"Docker could not remove container {container_id[:12]}: {e.explanation}") from None
    except MsagentError as e:
        raise ManagerError(503, e.message) from None
