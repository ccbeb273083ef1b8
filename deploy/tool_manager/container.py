"""How a tool-node container is run: hardened by default, loosened only by the tool's config.

``tool_cfg`` keys read here (everything else goes to the tool): ``network`` (bool, default off),
``memory`` (e.g. ``"512m"``), ``cpus`` (float), ``pids_limit`` (int), ``timeout`` (seconds per call).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from msagent.errors import ConfigError

NODE_USER = "10001:10001"
INTERNAL_NETWORK = "msagent-tools-internal"
CONTAINER_PORT_ENV = "TOOL_NODE_PORT"
LABEL = "msagent.tool-node"
LABEL_MANAGER = "msagent.manager"
LABEL_TENANT = "msagent.tenant"
LABEL_TOOL = "msagent.tool"
LABEL_POOL = "msagent.pool"
# a Docker image reference: [host[:port]/]name[/name...][:tag][@digest] (Docker's own grammar)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
# a registry host has a dot or a port, or is localhost (else the first part is a repository name)
_HOST = rf"(?:(?:(?:localhost|{_LABEL}(?:\.{_LABEL})+)(?::[0-9]+)?|{_LABEL}:[0-9]+)/)?"
IMAGE_MAX = 200  # Docker allows 255 for the whole name once it is expanded (docker.io/library/...)
IMAGE_PATTERN = (rf"^{_HOST}{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
                 r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")


def container_name(manager_id: str, node_name: str) -> str:
    """The container's name: the node's, under its manager's id (two managers on one host never collide)."""
    prefix = f"msagent-{manager_id}-"
    if node_name.startswith((prefix, f"msagent-pool-{manager_id}-")):  # named so already (warm-pool nodes)
        return node_name
    return prefix + node_name


class ContainerLimits(BaseModel):
    network: bool = False
    memory: str = "512m"
    cpus: float = Field(default=1.0, gt=0, le=64)
    pids_limit: int = Field(default=256, ge=16, le=65536)
    timeout: float = Field(default=60.0, gt=0, le=3600)

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: str) -> str:
        if not re.fullmatch(r"\d+[bkmg]?", str(v).lower()):
            raise ValueError("must look like '512m' or '2g'")
        return str(v).lower()

    @classmethod
    def from_cfg(cls, cfg: dict[str, Any]) -> ContainerLimits:
        keys = {k: cfg[k] for k in cls.model_fields if k in cfg}
        try:
            return cls(**keys)
        except ValidationError as e:
            msg = "; ".join(f"tool_cfg.{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
            raise ConfigError(f"bad tool_cfg: {msg}") from None

    def is_default(self) -> bool:
        return self == ContainerLimits(timeout=self.timeout)


def run_kwargs(
    *, image: str, name: str, port: int, limits: ContainerLimits, labels: dict[str, str], env: dict[str, str]
) -> dict[str, Any]:
    """Keyword arguments for ``client.containers.run``: non-root, no capabilities, read-only root."""
    kwargs: dict[str, Any] = {
        "image": image,
        "name": container_name(labels[LABEL_MANAGER], name),
        "detach": True,
        "labels": labels,
        "environment": {**env, CONTAINER_PORT_ENV: str(port)},
        "user": NODE_USER,
        "privileged": False,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "read_only": True,
        "tmpfs": {"/work": "rw,nosuid,nodev,size=256m,mode=1777", "/tmp": "rw,nosuid,nodev,size=64m,mode=1777"},
        "mem_limit": limits.memory,
        "memswap_limit": limits.memory,
        "nano_cpus": int(limits.cpus * 1e9),
        "pids_limit": limits.pids_limit,
        "init": True,
    }
    if limits.network:
        kwargs["network"] = "bridge"
        kwargs["ports"] = {f"{port}/tcp": ("127.0.0.1", port)}
    else:
        # an internal bridge: no route out, no inter-container traffic; only this host reaches it
        kwargs["network"] = INTERNAL_NETWORK
    return kwargs


def ensure_internal_network(client: Any) -> None:
    import docker.errors

    try:
        client.networks.get(INTERNAL_NETWORK)
    except docker.errors.NotFound:
        try:
            client.networks.create(
                INTERNAL_NETWORK, driver="bridge", internal=True,
                options={"com.docker.network.bridge.enable_icc": "false"}, labels={LABEL: "1"},
            )
        except docker.errors.APIError as e:
            if e.status_code != 409:  # created meanwhile by another manager
                raise


def node_url(container: Any, port: int, limits: ContainerLimits) -> str:
    if limits.network:
        return f"http://127.0.0.1:{port}"
    nets = container.attrs["NetworkSettings"]["Networks"]
    ip = nets.get(INTERNAL_NETWORK, {}).get("IPAddress")
    if not ip:
        raise ConfigError(f"container {container.name} has no address on {INTERNAL_NETWORK}")
    return f"http://{ip}:{port}"


def list_containers(client: Any, labels: list[str]) -> list[Any]:
    """The containers (any state) carrying all ``labels``, fully inspected. Docker's own listing
    inspects each one it found and fails with 404 when one is removed meanwhile (a pool node being
    replaced, another manager's cleanup); such a container is simply gone here."""
    from docker.errors import NotFound

    found = []
    for summary in client.containers.list(all=True, sparse=True, filters={"label": labels}):
        try:
            found.append(client.containers.get(summary.id))
        except NotFound:
            continue
    return found
