"""The scale benchmark's plot and its projection to a real cluster.

``plot_scaling(rows, path, title=None)`` writes one PNG with two panels against the agent count (log
x axis): microseconds per agent per round and memory per agent. Each row is a dict with ``agents``,
``us_per_agent_round``, ``bytes_per_agent`` and optionally ``label`` (one line per label, e.g. "1 shard",
"2 nodes, 2 shards"). The title says the machine's conditions (``machine_conditions()``).

``project_cluster(measured, ...)`` turns one measured run (``Measured``) into the size of a real
cluster for a target (1M agents, one round a minute by default); ``projection_table(p)`` prints it
with its assumptions as footnotes.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GIB = 2**30


def machine_conditions() -> str:
    """Cores, memory, load and Ray version of this host, for a title or a table's header."""
    cores = os.cpu_count() or 0
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    load1, _, _ = os.getloadavg()
    try:
        import ray

        ray_version = ray.__version__
    except ImportError:
        ray_version = "-"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"{cores} cores, {mem:.0f} GiB, load {load1:.1f} (shared host), Ray {ray_version}, {stamp}"


def plot_scaling(
    rows: Sequence[Mapping[str, Any]],
    path: str,
    title: str | None = None,
    memory_basis: str = "peak RSS of all processes / agents",
) -> str:
    """Write the PNG at ``path`` (returned); rows without a label form one line; ``memory_basis``
    says how ``bytes_per_agent`` was taken (the right panel's title)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        raise ValueError("no rows to plot")
    lines: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        lines.setdefault(str(r.get("label") or "measured"), []).append(r)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6))
    for label, points in lines.items():
        points = sorted(points, key=lambda r: r["agents"])
        xs = [r["agents"] for r in points]
        left.plot(xs, [r["us_per_agent_round"] for r in points], marker="o", label=label)
        right.plot(xs, [r["bytes_per_agent"] / 1024 for r in points], marker="o", label=label)
    for ax, ylabel in (
        (left, "time per agent per round (µs)"),
        (right, "memory per agent (KiB)"),
    ):
        ax.set_xscale("log")
        ax.set_xlabel("agents (log scale)")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    left.set_title("round time / agents", fontsize=10)
    right.set_title(memory_basis, fontsize=10)
    fig.suptitle(f"{title or 'msagent scale: cost per agent'}\n{machine_conditions()}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@dataclass(frozen=True)
class Measured:
    """One measured run: ``agents`` stepped in ``round_s`` seconds on ``cores`` cores spread over
    ``nodes`` nodes with ``env_shards`` Environment shards; memory of all processes at its peak and
    with no agents yet (``idle_bytes``: Ray's daemons, the drivers, empty shards)."""

    agents: int
    round_s: float
    cores: float
    peak_bytes: int
    idle_bytes: int
    nodes: int = 1
    env_shards: int = 1
    deliveries_per_agent: float = 1.0  # messages each agent's reply is delivered to
    shard_deliveries_per_s: float | None = None  # one shard's rate measured alone; default: the round's
    cpu_s: float | None = None  # CPU seconds all processes used in the round; default: round_s x cores

    @property
    def cpu_us_per_agent_round(self) -> float:
        return (self.cpu_s if self.cpu_s else self.round_s * self.cores) * 1e6 / self.agents

    @property
    def bytes_per_agent(self) -> float:
        return max(0, self.peak_bytes - self.idle_bytes) / self.agents

    @property
    def deliveries_per_shard_s(self) -> float:
        if self.shard_deliveries_per_s:
            return self.shard_deliveries_per_s
        return self.agents * self.deliveries_per_agent / self.round_s / self.env_shards


@dataclass(frozen=True)
class NodeShape:
    """A node of the real cluster."""

    cores: int = 16
    memory_gib: float = 64
    reserve_gib: float = 4  # the OS, Ray's daemons and the object store's share, not for agents


@dataclass(frozen=True)
class Projection:
    agents: int
    round_s: float
    node: NodeShape
    nodes: int
    nodes_for_cpu: int
    nodes_for_memory: int
    env_shards: int
    cores_for_agents: float
    memory_for_agents_gib: float
    assumptions: list[str] = field(default_factory=list)


def project_cluster(
    measured: Measured,
    agents: int = 1_000_000,
    round_s: float = 60.0,
    node: NodeShape | None = None,
    utilization: float = 0.5,
) -> Projection:
    """How many ``node``-shaped nodes run ``agents`` at one round per ``round_s`` seconds."""
    node = node or NodeShape()
    if not 0 < utilization <= 1:
        raise ValueError(f"utilization is a fraction in (0, 1], not {utilization}")
    agent_rounds_per_s = agents / round_s
    cores_for_agents = agent_rounds_per_s * measured.cpu_us_per_agent_round / 1e6
    shards = max(1, math.ceil(agent_rounds_per_s * measured.deliveries_per_agent
                              / (measured.deliveries_per_shard_s * utilization)))  # fmt: skip
    cores = cores_for_agents / utilization + shards  # a shard is one single-threaded actor: a core each
    nodes_cpu = math.ceil(cores / node.cores)
    idle_per_node = measured.idle_bytes / measured.nodes
    usable = node.memory_gib * GIB - max(node.reserve_gib * GIB, idle_per_node)
    memory = agents * measured.bytes_per_agent
    nodes_mem = math.ceil(memory / (usable * utilization))
    assumptions = [
        f"measured: {measured.agents:,} agents, one round in {measured.round_s:.2f} s on {measured.cores:g} cores "
        f"({measured.nodes} node(s), {measured.env_shards} shard(s)): {measured.cpu_us_per_agent_round:,.0f} "
        "CPU-µs per agent-round, "
        + (
            "the CPU time its processes used (scale_measure.py)"
            if measured.cpu_s
            else "counting every core as busy for the whole round (an upper bound on a shared host)"
        ),
        f"memory per agent = (peak - idle) / agents = {measured.bytes_per_agent / 1024:,.1f} KiB, growing linearly; "
        f"each node also keeps max({node.reserve_gib:g} GiB, the measured idle {idle_per_node / GIB:.2f} GiB) for "
        "the OS and Ray's daemons",
        f"CPU cost grows linearly with agents; nodes run at {utilization:.0%} of their cores and memory (headroom)",
        f"the model answers at once and runs elsewhere (a served model's latency overlaps: 64 calls in flight per "
        f"pool; its hardware is not counted); each agent's reply goes to {measured.deliveries_per_agent:g} "
        "recipient(s) per round",
        f"an Environment shard is one core and delivers {measured.deliveries_per_shard_s:,.0f} messages/s "
        + (
            "(measured alone)"
            if measured.shard_deliveries_per_s
            else "(what one shard did in the round: a lower bound, the round also ran the agents)"
        ),
        "the network between real nodes adds latency per call but pools batch a round into a few calls per shard",
    ]
    return Projection(
        agents=agents, round_s=round_s, node=node, nodes=max(nodes_cpu, nodes_mem), nodes_for_cpu=nodes_cpu,
        nodes_for_memory=nodes_mem, env_shards=shards, cores_for_agents=cores_for_agents,
        memory_for_agents_gib=memory / GIB, assumptions=assumptions,
    )  # fmt: skip


def projection_table(p: Projection) -> str:
    """The projection as a text table with numbered footnotes."""
    n = p.node
    rows = [
        ("target", f"{p.agents:,} agents, one round every {p.round_s:g} s", "[3][4]"),
        ("node shape", f"{n.cores} cores, {n.memory_gib:g} GiB", ""),
        ("cores for the agents' work", f"{p.cores_for_agents:,.1f}", "[1][3]"),
        ("Environment shards", f"{p.env_shards}", "[5]"),
        ("memory for the agents", f"{p.memory_for_agents_gib:,.1f} GiB", "[2]"),
        ("nodes needed for CPU / memory", f"{p.nodes_for_cpu} / {p.nodes_for_memory}", "[3]"),
        ("projected cluster", f"{p.nodes} nodes", "[6]"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{name.ljust(width)}  {value} {note}".rstrip() for name, value, note in rows]
    lines += [""] + [f"[{i}] {text}" for i, text in enumerate(p.assumptions, 1)]
    return "\n".join(lines)
