"""A local multi-node Ray cluster on this one machine, for the scale benchmark.

    with ScaleCluster(nodes=3, cpus_per_node=1) as cluster:
        cluster.connect()                                  # this process is the driver
        pools = [create_pool(..., actor_options=opts) for opts in cluster.spread(6)]
        with cluster.sample_memory() as memory:
            ...                                            # a round
        print(memory.peak_by_node, memory.peak_total, memory.cpu_s_by_node)

Each node is its own ``ray start`` (the first is the head) with its own ``--num-cpus``, ``--memory``,
``--object-store-memory``, custom resource ``{<node name>: 1000}`` and its own ``--temp-dir``
(``<root>/n00``, ``<root>/n01``, ...), so the processes of a node are the ones naming its folder and
their descendants (the raylet's workers): ``scale_measure.py`` sums their memory and CPU. Ports are
free ones (``msagent.ports.free_port``); Ray 2.60's token auth is on (``RAY_AUTH_MODE=token`` and a
fresh ``RAY_AUTH_TOKEN``, in ``cluster.env``); a driver in another process joins with
``join(address, token)``. Stopping stops every process naming ``<root>`` (SIGTERM, then SIGKILL) and
raises if one survives: never a bare ``ray stop``, which would stop every Ray here. Ray's GCS and
raylets listen on every interface whatever ``--node-ip-address`` says; the token guards them.

Placement is plain ``actor_options`` (``msagent/runtime/placement.py``): ``on_node(node_id)`` is a
node affinity written as data, ``with_resource(name)`` asks for a sliver of a node's own resource
(hard placement that also works in a scenario file, where node ids are not known yet).
``MSAGENT_DATA_DIR`` of every node is ``<root>/data`` unless the caller's environment sets it, so
durable logs go away with the cluster.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scale_measure import MemorySampler, process_table, rss_of, tree_of  # noqa: E402
from msagent.ports import free_port  # noqa: E402
from msagent.settings import DATA_DIR_ENV  # noqa: E402
from msagent.testing.ray_head import ray_cli  # noqa: E402

NODE_RESOURCE = 1000.0  # each node offers {<name>: 1000}; with_resource() takes 0.001 of it


@dataclass(frozen=True)
class NodeSpec:
    """One ``ray start`` node; ``memory_gib`` is Ray's logical memory resource (not a hard limit)."""

    name: str
    num_cpus: float = 1
    object_store_mb: int = 256
    memory_gib: float | None = None
    resources: Mapping[str, float] = field(default_factory=dict)


@dataclass
class Node:
    spec: NodeSpec
    temp_dir: str
    node_id: str = ""  # hex, read from the raylet's command line once it runs


def stop_pids(pids: set[int], grace_s: float = 3.0) -> None:
    """SIGTERM, then SIGKILL what is still there after ``grace_s`` (a benchmark cluster keeps no
    state worth a slow shutdown; Ray's object store files are unlinked while in use)."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.1)


class ScaleCluster:
    """A head plus worker nodes started with ``ray start``; a context manager (see the module doc)."""

    def __init__(
        self,
        nodes: int | Sequence[NodeSpec] = 2,
        cpus_per_node: float = 1,
        memory_per_node_gib: float | None = None,
        object_store_mb: int = 256,
        extra_env: Mapping[str, str] | None = None,
        start_timeout_s: float = 240,
    ) -> None:
        if isinstance(nodes, int):
            if nodes < 1:
                raise ValueError(f"a cluster needs at least one node, not {nodes}")
            names = ["head"] + [f"node{i}" for i in range(1, nodes)]
            nodes = [NodeSpec(n, cpus_per_node, object_store_mb, memory_per_node_gib) for n in names]
        self.specs = list(nodes)
        if len({s.name for s in self.specs}) != len(self.specs):
            raise ValueError(f"node names must differ: {[s.name for s in self.specs]}")
        if len(self.specs) > 100:
            raise ValueError("at most 100 nodes (their folders are n00..n99)")
        self.extra_env = dict(extra_env or {})
        self.start_timeout_s = start_timeout_s
        self.root = ""
        self.address = ""
        self.env: dict[str, str] = {}
        self.nodes: list[Node] = []
        self._connected = False
        self._saved_env: dict[str, str | None] = {}
        self._sigterm: Any = None

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> ScaleCluster:
        # short: Ray puts its sockets under <temp-dir>/session_<40 chars>/sockets/ (108-byte limit)
        self.root = tempfile.mkdtemp(prefix="msscale-", dir="/tmp")
        self.env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
        self.env.pop("RAY_ADDRESS", None)
        self.env.setdefault(DATA_DIR_ENV, f"{self.root}/data")
        self.env.update(self.extra_env)
        self.nodes = [Node(spec, f"{self.root}/n{i:02d}") for i, spec in enumerate(self.specs)]
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self._stop_on_sigterm()
        try:
            for node in self.nodes:  # one at a time: side by side they time out on a busy 2-core host
                where = (
                    ["--head", "--port", str(port)] if node is self.nodes[0] else ["--address", self.address]
                )
                self._start_node(node, where)
            table = process_table()
            for node in self.nodes:
                node.node_id = self._raylet_arg(table, node, "--node_id=")
        except BaseException:
            self.stop()
            raise
        return self

    def _stop_on_sigterm(self) -> None:
        """The nodes outlive this process (``ray start`` detaches them): a SIGTERM (``timeout``, a
        job runner) becomes ``SystemExit`` so that ``stop()`` runs on the way out. Only where nobody
        else handles SIGTERM, and only in the main thread (where Python runs signal handlers)."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return

        def on_sigterm(signum: int, frame: Any) -> None:
            raise SystemExit(128 + signum)

        self._sigterm = signal.signal(signal.SIGTERM, on_sigterm)

    def _start_cmd(self, node: Node, where: list[str]) -> list[str]:
        spec = node.spec
        os.makedirs(node.temp_dir, exist_ok=True)
        resources = {spec.name: NODE_RESOURCE, **spec.resources}
        cmd = [
            ray_cli(), "start", *where, "--num-cpus", str(spec.num_cpus), "--resources", _json(resources),
            "--object-store-memory", str(int(spec.object_store_mb * 2**20)), "--temp-dir", node.temp_dir,
            "--disable-usage-stats", "--node-manager-port", str(free_port()),
            "--object-manager-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port()),
            "--dashboard-agent-grpc-port", str(free_port()), "--runtime-env-agent-port", str(free_port()),
            "--metrics-export-port", str(free_port()),
        ]  # fmt: skip
        if spec.memory_gib is not None:
            cmd += ["--memory", str(int(spec.memory_gib * 2**30))]
        if "--head" in where:
            cmd += ["--include-dashboard=false", "--dashboard-host", "127.0.0.1", "--dashboard-port",
                    str(free_port()), "--ray-client-server-port", str(free_port())]  # fmt: skip
        return cmd

    def _start_node(self, node: Node, where: list[str], attempts: int = 2) -> None:
        """``ray start`` one node; a start that fails (Ray waits only 30 s for a raylet to register,
        which a loaded host can miss) is stopped by PID and tried again once."""
        for attempt in range(1, attempts + 1):
            cmd = self._start_cmd(node, where)
            try:
                proc = subprocess.run(
                    cmd, env=self.env, capture_output=True, text=True, timeout=self.start_timeout_s
                )
                out, ok = proc.stdout + proc.stderr, proc.returncode == 0
            except subprocess.TimeoutExpired as e:
                out, ok = f"{_tail(e.stdout or '')}{_tail(e.stderr or '')} (timed out)", False
            if ok:
                return
            stop_pids(tree_of(process_table(), node.temp_dir))
            shutil.rmtree(node.temp_dir, ignore_errors=True)
            if attempt == attempts:
                raise RuntimeError(
                    f"ray start of node {node.spec.name!r} failed {attempts} times:\n{_tail(out)}"
                )

    @staticmethod
    def _raylet_arg(table: Mapping[int, tuple[int, str]], node: Node, flag: str) -> str:
        for pid in tree_of(table, node.temp_dir):
            args = table[pid][1].split(" ")
            if Path(args[0]).name == "raylet":
                return next(a[len(flag) :] for a in args if a.startswith(flag))
        raise RuntimeError(f"no raylet of node {node.spec.name!r} runs (its folder: {node.temp_dir})")

    def stop(self) -> None:
        """Disconnect a driver we connected, stop every process of the cluster; raise if one survives."""
        if self._connected:
            import ray

            ray.shutdown()
            self._connected = False
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if self._sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._sigterm)
            self._sigterm = None
        if not self.root:
            return
        stop_pids(tree_of(process_table(), self.root))
        leftover = tree_of(process_table(), self.root)
        if leftover:
            raise RuntimeError(
                f"processes of the scale cluster in {self.root} still alive: {sorted(leftover)}"
            )
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = ""

    def __enter__(self) -> ScaleCluster:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- drivers ---------------------------------------------------------------------------------
    def connect(self, **init_kwargs: Any) -> None:
        """``ray.init`` this process into the cluster (see ``join``); ``stop()`` disconnects."""
        for key in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_ADDRESS", DATA_DIR_ENV):
            self._saved_env.setdefault(key, os.environ.get(key))
        join(self.address, self.env["RAY_AUTH_TOKEN"], self.env[DATA_DIR_ENV], **init_kwargs)
        self._connected = True

    def run_driver(self, argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen:
        """A driver process (``[python, script, ...]``) with the cluster's environment."""
        return subprocess.Popen(list(argv), env={**self.env, **popen_kwargs.pop("env", {})}, **popen_kwargs)

    # --- placement -------------------------------------------------------------------------------
    def node_ids(self) -> list[str]:
        """Node ids (hex), head first."""
        return [n.node_id for n in self.nodes]

    def name_of(self, node_id: str) -> str:
        return next(n.spec.name for n in self.nodes if n.node_id == node_id)

    def spread(self, count: int, soft: bool = False, include_head: bool = True) -> list[dict[str, Any]]:
        """``actor_options`` for ``count`` actors (pools, shards), round-robin over the nodes."""
        ids = self.node_ids() if include_head or len(self.nodes) == 1 else self.node_ids()[1:]
        return [on_node(ids[i % len(ids)], soft) for i in range(count)]

    # --- memory ----------------------------------------------------------------------------------
    def pids_by_node(self, table: Mapping[int, tuple[int, str]] | None = None) -> dict[str, set[int]]:
        """``{node_id: pids}``: the processes naming a node's folder and their descendants."""
        table = process_table() if table is None else table
        return {n.node_id: tree_of(table, n.temp_dir) for n in self.nodes}

    def node_rss(self) -> dict[str, int]:
        """``{node_id: bytes}``: the summed RSS of each node's processes now."""
        return {node: rss_of(pids) for node, pids in self.pids_by_node().items()}

    @contextmanager
    def sample_memory(
        self, interval_s: float = 0.25, extra: Mapping[str, int] | None = None, pss: bool = False
    ) -> Iterator[MemorySampler]:
        """Sample every node's memory and CPU in a thread while the block runs (``scale_measure.MemorySampler``)."""
        sampler = MemorySampler(self.pids_by_node, interval_s, dict(extra or {}), pss)
        sampler.start()
        try:
            yield sampler
        finally:
            sampler.stop()


def join(address: str, token: str, data_dir: str | None = None, **init_kwargs: Any) -> None:
    """A driver joins a token-auth cluster, even when it imported Ray before it knew the token:
    the token and token mode go into this process's environment (inherited by what it starts), and
    Ray's cached config and token are read again before ``ray.init``."""
    import ray

    os.environ.pop("RAY_ADDRESS", None)
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN"] = token
    if data_dir:
        os.environ[DATA_DIR_ENV] = data_dir
    try:
        from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
    except ImportError:  # a Ray without token auth
        pass
    ray.init(address=address, **{"log_to_driver": False, **init_kwargs})


def on_node(node_id: str, soft: bool = False) -> dict[str, Any]:
    """``actor_options`` placing an actor on a node (soft: elsewhere when that node is gone)."""
    return {"scheduling_strategy": {"node_affinity": {"node_id": node_id, "soft": soft}}}


def with_resource(name: str, amount: float = 0.001) -> dict[str, Any]:
    """``actor_options`` asking for a sliver of a node's own resource (``NodeSpec.name``)."""
    return {"resources": {name: amount}}


def _tail(out: str | bytes, size: int = 3000) -> str:
    return (out.decode(errors="replace") if isinstance(out, bytes) else out)[-size:]


def _json(value: object) -> str:
    import json

    return json.dumps(value)
