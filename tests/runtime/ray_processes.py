"""Ray clusters a test starts with ``ray start`` (free ports, a private temp dir, token auth) and
stops by PID: every process whose command line names the temp dir, and all their descendants.
Never ``ray stop``: other clusters on the machine are not ours."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from msagent.ports import free_port

# the `ray` CLI next to this interpreter (a venv), else the one on PATH
RAY = str(Path(sys.executable).with_name("ray")) if Path(sys.executable).with_name("ray").exists() else (shutil.which("ray") or "ray")


def pids_using(marker: str) -> set[int]:
    """Processes whose command line names ``marker`` (our temp dir), plus all their descendants."""
    parents: dict[int, int] = {}
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        if marker in cmdline and pid != os.getpid():
            found.add(pid)
    grew = True
    while grew:
        kids = {p for p, pp in parents.items() if pp in found and p not in found}
        found |= kids
        grew = bool(kids)
    return found


def stop_pids(pids: set[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.2)


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


def _ports(head: bool) -> list[str]:
    out = [
        "--dashboard-agent-listen-port", str(free_port()), "--dashboard-agent-grpc-port", str(free_port()),
        "--runtime-env-agent-port", str(free_port()), "--metrics-export-port", str(free_port()),
        "--object-manager-port", str(free_port()),
    ]  # fmt: skip
    return out + (["--ray-client-server-port", str(free_port())] if head else [])


@contextmanager
def ray_cluster_of(nodes: list[dict[str, float]], cpus: int = 2, extra_env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """A head node plus one more node per entry after the first; ``nodes`` are custom resources."""
    temp_dir = tempfile.mkdtemp(prefix="msagent-ray-", dir="/tmp")  # short: Ray puts sockets in it
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16), **(extra_env or {})}
    env.pop("RAY_ADDRESS", None)
    port = free_port()
    cluster = Cluster(temp_dir, f"127.0.0.1:{port}", env)
    try:
        for i, resources in enumerate(nodes):
            node_port = free_port()
            where = ["--head", "--port", str(port), "--include-dashboard=false"] if i == 0 else ["--address", cluster.address]
            cmd = [
                RAY, "start", *where, "--num-cpus", str(cpus), "--resources", _json(resources),
                "--temp-dir", temp_dir, "--disable-usage-stats", "--node-manager-port", str(node_port),
                *_ports(i == 0),
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
