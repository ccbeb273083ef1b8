"""``ToolNode``: owns one tool-node container (start or adopt, status, info, execute, stop, remove).

Plain Python with blocking Docker calls; the manager hosts it in a Ray actor (``ToolNodeActor``)
or, under plain uvicorn, runs its methods in worker threads.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx
from pydantic import BaseModel, Field

from deploy.tool_manager.container import (
    LABEL,
    LABEL_MANAGER,
    LABEL_POOL,
    LABEL_TENANT,
    LABEL_TOOL,
    ContainerLimits,
    container_name,
    ensure_internal_network,
    node_url,
    run_kwargs,
)
from deploy.tool_node.secret import SECRET_ENV, auth_header
from msagent.errors import RuntimeFailure
from msagent.tools.builtin.web import NODE_NETWORK_ENV

log = logging.getLogger(__name__)


class NodeSpec(BaseModel):
    name: str
    image: str
    port: int
    manager_id: str
    tool_name: str | None = None  # None: a pool node, given its tool later by assign()
    tenant_id: str | None = None
    tool_cfg: dict[str, Any] = Field(default_factory=dict)
    tools: list[str] | None = None  # what it serves: default [tool_name]; ["*"]: every tool of the image
    secret: str = Field(default="", repr=False)  # required on every call to the node (set by the manager)


class NodeState(BaseModel):
    status: str  # pending | running | exited | failed
    container_id: str | None = None
    url: str | None = None
    message: str = ""


class ToolNode:
    def __init__(self, spec: NodeSpec | dict[str, Any]) -> None:
        self.spec = NodeSpec.model_validate(spec)
        self.limits = ContainerLimits.from_cfg(self.spec.tool_cfg)
        self.container: Any = None
        self.url: str | None = None
        self._client: Any = None
        self._http = httpx.Client(timeout=10.0, headers=auth_header(self.spec.secret))

    def _docker(self) -> Any:
        if self._client is None:
            from deploy.tool_node.image import docker_client

            self._client = docker_client()
        return self._client

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> NodeState:
        """Run the container and wait until its server answers ``/health``; on failure, remove it."""
        client = self._docker()
        spec = self.spec
        labels = {LABEL: "1", LABEL_MANAGER: spec.manager_id}
        env: dict[str, str] = {}
        if spec.tool_name is None:
            labels[LABEL_POOL] = "1"
        else:
            labels.update({LABEL_TOOL: spec.tool_name, LABEL_TENANT: spec.tenant_id or "default"})
            env = {"TOOL_NAME": spec.tool_name, "TOOL_CFG": json.dumps(spec.tool_cfg),
                   "TOOL_TENANT_ID": spec.tenant_id or "default"}
            if spec.tools is not None:
                env["TOOL_NAMES"] = json.dumps(spec.tools)
        env[SECRET_ENV] = spec.secret
        env[NODE_NETWORK_ENV] = "1" if self.limits.network else "0"  # web tools say why they cannot fetch
        if not self.limits.network:
            ensure_internal_network(client)
        kwargs = run_kwargs(image=spec.image, name=spec.name, port=spec.port, limits=self.limits, labels=labels, env=env)
        try:
            self.container = client.containers.run(**kwargs)
            self._wait_healthy(timeout)
        except Exception as e:
            logs = self._logs_tail()
            self.remove()
            raise RuntimeFailure(f"tool node {spec.name} did not start: {e}{logs}") from e
        return self.state()

    def adopt(self, container_id: str) -> NodeState:
        """Take over a container a previous manager started (found by its labels)."""
        self.container = self._docker().containers.get(container_id)
        if self.container.status == "running":
            self.url = node_url(self.container, self.spec.port, self.limits)
        return self.state()

    def assign(self, name: str, tool_name: str, tenant_id: str, tool_cfg: dict[str, Any],
               tools: list[str] | None = None) -> NodeState:
        """Give a pool node its tool (or tools) and its name."""
        r = self._http.post(f"{self.url}/assign",
                            json={"tool_name": tool_name, "tool_cfg": tool_cfg, "tenant_id": tenant_id, "tools": tools})
        if r.status_code != 200:
            raise RuntimeFailure(_detail(r))
        self.container.rename(container_name(self.spec.manager_id, name))
        self.spec = self.spec.model_copy(
            update={"name": name, "tool_name": tool_name, "tenant_id": tenant_id, "tool_cfg": tool_cfg, "tools": tools}
        )
        self.limits = ContainerLimits.from_cfg(tool_cfg)
        return self.state()

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self.container.reload()
        self.url = node_url(self.container, self.spec.port, self.limits)
        delay = 0.02
        while time.monotonic() < deadline:
            try:
                if self._http.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            self.container.reload()
            if self.container.status not in ("created", "running"):
                raise RuntimeFailure(f"the container exited ({self.container.status})")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.2)
        raise RuntimeFailure(f"no answer on {self.url}/health within {timeout:g} s")

    def _logs_tail(self) -> str:
        try:
            text = self.container.logs(tail=20).decode(errors="replace").strip() if self.container else ""
        except Exception:  # noqa: BLE001  (the container may be gone already)
            return ""
        return f"; container log: {text[-1500:]}" if text else ""

    def state(self) -> NodeState:
        """The container's state as the manager reports it (a vanished container is 'exited')."""
        import docker.errors

        if self.container is None:
            return NodeState(status="exited", message="no container")
        try:
            self.container.reload()
        except docker.errors.NotFound:
            return NodeState(status="exited", container_id=self.container.id, message="the container is gone")
        except Exception as e:  # noqa: BLE001  (the engine does not answer)
            raise RuntimeFailure(f"Docker does not answer about {self.spec.name} ({type(e).__name__}); is it "
                                 "running? bash deploy/setup/docker_engine.sh") from None
        status = self.container.status
        cid = self.container.id
        if status == "running":
            return NodeState(status="running", container_id=cid, url=self.url)
        if status in ("created", "restarting"):
            return NodeState(status="pending", container_id=cid, url=self.url)
        code = self.container.attrs.get("State", {}).get("ExitCode")
        oom = self.container.attrs.get("State", {}).get("OOMKilled")
        msg = f"the container {status} (exit code {code}{', out of memory' if oom else ''})"
        return NodeState(status="exited", container_id=cid, url=self.url, message=msg)

    def stop(self) -> NodeState:
        if self.container is not None:
            try:
                self.container.stop(timeout=2)
            except Exception:  # noqa: BLE001  (already gone)
                log.debug("stop failed", exc_info=True)
        return self.state()

    def remove(self) -> None:
        if self.container is not None:
            try:
                self.container.remove(force=True)
            except Exception:  # noqa: BLE001  (already gone)
                log.debug("remove failed", exc_info=True)
        self._http.close()
        self._http = httpx.Client(timeout=10.0, headers=auth_header(self.spec.secret))

    # --- the tool --------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        r = self._http.get(f"{self.url}/tool_info")
        if r.status_code != 200:
            raise RuntimeFailure(_detail(r))
        return dict(r.json())

    def execute(self, params: str | dict, kwargs: dict[str, Any] | None = None) -> tuple[int, str]:
        """(HTTP status, output or error message) of one call, through this actor."""
        r = self._http.post(
            f"{self.url}/execute_tool", json={"params": params, "kwargs": kwargs or {}}, timeout=self.limits.timeout + 5
        )
        return r.status_code, (r.json().get("output", "") if r.status_code == 200 else _detail(r))


def _detail(r: httpx.Response) -> str:
    try:
        return str(r.json().get("detail", r.text))
    except ValueError:
        return r.text


def actor_class() -> Any:
    """``ToolNode`` as a Ray actor class with no CPU reserved (it only waits on Docker and HTTP)."""
    import ray

    remote: Any = ray.remote  # (its typed overloads lack max_concurrency)
    return remote(num_cpus=0, max_concurrency=8)(ToolNode)  # an actor class: callers may add .options()
