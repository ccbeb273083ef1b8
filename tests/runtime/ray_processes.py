"""Ray clusters a test starts with ``ray start`` (free ports, a private temp dir, token auth) and
stops by PID: every process whose command line names the temp dir, and all their descendants.
Never ``ray stop``: other clusters on the machine are not ours."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from msagent.ports import free_ports
from msagent.testing.ray_head import pids_using, ray_cli, stop_pids

RAY = ray_cli()


def pid_of(marker: str, program: str, *needles: str) -> int:
    """The one process of ``program`` (its executable's name) naming ``marker`` and every needle
    (e.g. a node's raylet by its port; its dashboard agent names the same port)."""
    found = []
    for pid in sorted(pids_using(marker)):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if args and Path(args[0]).name == program and all(any(n in a for a in args) for n in needles):
            found.append(pid)
    if len(found) != 1:
        raise LookupError(f"{len(found)} {program} processes naming {marker!r} and {needles!r}")
    return found[0]


@dataclass
class Cluster:
    temp_dir: str
    address: str
    env: dict[str, str]
    node_ports: list[int] = field(default_factory=list)  # node manager port of each node, head first


NODE_PORTS = 7  # the ports one node is given (the head's GCS port besides)


def _ports(head: bool, ports: Iterator[int]) -> list[str]:
    out = [
        "--dashboard-agent-listen-port", str(next(ports)), "--dashboard-agent-grpc-port", str(next(ports)),
        "--runtime-env-agent-port", str(next(ports)), "--metrics-export-port", str(next(ports)),
        "--object-manager-port", str(next(ports)),
    ]  # fmt: skip
    return out + (["--ray-client-server-port", str(next(ports))] if head else [])


@contextmanager
def ray_cluster_of(nodes: list[dict[str, float]], cpus: int = 2, extra_env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """A head node plus one more node per entry after the first; ``nodes`` are custom resources."""
    temp_dir = tempfile.mkdtemp(prefix="msagent-ray-", dir="/tmp")  # short: Ray puts sockets in it
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16), **(extra_env or {})}
    env.pop("RAY_ADDRESS", None)
    # every port of the cluster chosen at once: two nodes chosen apart could be given the same one
    ports = iter(free_ports(1 + NODE_PORTS * len(nodes)))
    port = next(ports)
    cluster = Cluster(temp_dir, f"127.0.0.1:{port}", env)
    try:
        for i, resources in enumerate(nodes):
            node_port = next(ports)
            where = ["--head", "--port", str(port), "--include-dashboard=false"] if i == 0 else ["--address", cluster.address]
            cmd = [
                RAY, "start", *where, "--num-cpus", str(cpus), "--resources", _json(resources),
                "--temp-dir", temp_dir, "--disable-usage-stats", "--node-manager-port", str(node_port),
                *_ports(i == 0, ports),
            ]  # fmt: skip
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
            assert proc.returncode == 0, f"ray start failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            cluster.node_ports.append(node_port)
        yield cluster
    finally:
        stop_pids(pids_using(temp_dir))
        leftover = pids_using(temp_dir)
        if not leftover:
            shutil.rmtree(temp_dir, ignore_errors=True)
        assert not leftover, f"processes of our Ray cluster still alive: {sorted(leftover)}"


def _json(value: object) -> str:
    import json

    return json.dumps(value)
