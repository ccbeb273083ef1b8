"""Scale benchmark: the cost per agent from 1,000 to 100,000 agents, one table and a plot, one run.

    python benchmarks/bench_scale.py             # one node: 1k..100k, 2 shards, traffic, a 50 ms model
    python benchmarks/bench_scale.py --quick     # 1k and 10k, small variants (a few minutes)
    python benchmarks/bench_scale.py --cluster   # also 100k / 300k / 1M on a local multi-node Ray cluster
    python benchmarks/bench_scale.py --plot my.png  # default: benchmarks/results/scale.png (not tracked)
    python benchmarks/bench_scale.py --model-bound 20000  # the instant and 50 ms model rows alone

Every row: pooled ``PeerAgent``s (an instant scripted model unless said otherwise) in one Environment
(``env_shards`` shards), a task broadcast to all, then ONE round in which every agent reads its mail
and publishes a reply to its peers (the next 1 / 10 agents on a ring, or all). Measured: setup (pools,
``add_agents``), the round, µs per agent per round (round / agents), the peak RSS of all processes
(the driver and every Ray process below it, sampled every 0.25 s; shared pages counted in each
process, so an upper bound), the CPU seconds those processes used in the round (what the round costs
whatever else the machine runs: on a shared host the wall time also holds other people's work), bytes per agent ((peak - idle before the agents) / agents), and per role
the mail each agent holds after the round against what its peers sent: lost and duplicated counts.
Goals (issue 16) at 100,000 agents: setup <= 60 s, round <= 60 s, peak RSS <= 8 GiB, 0 lost/duplicated.
The 50 ms model row shows the round bounded by the model: 64 calls in flight per pool, so the floor is
ceil(agents / (64 x pools)) x 50 ms.

``--cluster`` starts ``benchmarks/scale_cluster.py``'s local multi-node cluster (``ray start`` nodes on
this machine, each with its own CPUs), spreads pools and shards over the nodes, and reports rounds/s
and peak memory per node, then projects a real cluster for 1M agents at one round per minute
(``scale_plot.project_cluster``). Sizes that would not fit in this machine's free memory are skipped
with a note. Numbers on a shared 2-core machine are noisy: the table prints the load average.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ray  # noqa: E402

from benchmarks.scale_measure import MemorySampler, tree_of  # noqa: E402
from msagent.runtime import call  # noqa: E402
from msagent.runtime.pool import PoolTaskCenter, create_pool  # noqa: E402
from msagent.runtime.testing_scale import PeerAgent, ring_peers, worker_role  # noqa: E402

GIB = 2**30
INSTANT = {"model_server": "scripted", "replies": ["ok"], "cycle": True}
SLOW = {"model_server": "scripted", "replies": [{"text": "ok", "first_token_delay_s": 0.05}], "cycle": True}
CHECK_CHUNK = 20_000  # roles whose mail is read back per call when checking


def session_groups(table: Any) -> dict[str, set[int]]:
    """This driver and every process below it (a local Ray cluster started by ``ray.init``)."""
    return {"all": tree_of(table, roots={os.getpid()})}


def run_round(
    n: int,
    shards: int = 1,
    peers: int | str = 1,
    per_pool: int = 50_000,
    llm: dict[str, Any] | None = None,
    concurrency: int = 1,
    placement: list[dict[str, Any]] | None = None,
    shard_placement: list[dict[str, Any]] | None = None,
    groups: Callable[[Any], dict[str, set[int]]] = session_groups,
) -> dict[str, Any]:
    """One measured round of ``n`` agents (see the module doc); returns the row."""
    pools = math.ceil(n / per_pool)
    idle = settled_bytes(groups)
    sampler = MemorySampler(groups, 0.25, {}, False)
    sampler.start()
    sampling = True
    t0 = time.perf_counter()
    tc = PoolTaskCenter(
        remote=True, prefix_name=f"z{uuid.uuid4().hex[:8]}", env_shards=shards, durable=True,
        shard_actor_options=shard_placement,
    )  # fmt: skip
    agents: list[Any] = []
    try:
        for p in range(pools):
            kwargs = [
                {"name": worker_role(i), "llm": llm or INSTANT, "peers": "all" if peers == "all" else ring_peers(i, n, int(peers))}
                for i in range(p * n // pools, (p + 1) * n // pools)
            ]  # fmt: skip
            agents += create_pool(
                PeerAgent, kwargs, name=f"pool{p}", remote=True, prefix_name=tc.prefix_name, concurrency=concurrency,
                actor_options=placement[p % len(placement)] if placement else None,
            )  # fmt: skip
        tc.add_agents(agents)
        setup = time.perf_counter() - t0
        roles = [a.role for a in agents]
        tc.send_task_request("start", send_to="all")
        cpu0 = sampler.cpu_s_total
        t0 = time.perf_counter()
        frames = Counter(f.split(": ", 1)[0] for f in tc.step(allowed_roles=roles))
        round_s = time.perf_counter() - t0
        cpu_round = sampler.cpu_s_total - cpu0
        sampler.stop()
        sampling = False
        lost, duplicated = check_mail(tc, n, peers)
        missing_frames = sum(1 for r in roles if frames.get(r, 0) == 0)
    finally:
        if sampling:
            sampler.stop()
        tc.close()
    return {
        "agents": n, "shards": shards, "pools": pools, "peers": peers, "setup_s": setup, "round_s": round_s,
        "us_per_agent_round": round_s * 1e6 / n, "cpu_us_per_agent_round": cpu_round * 1e6 / n, "peak_bytes": sampler.peak_total, "idle_bytes": idle,
        "bytes_per_agent": max(0, sampler.peak_total - idle) / n, "lost": lost + missing_frames,
        "duplicated": duplicated, "cpu_s": cpu_round, "peak_by_node": dict(sampler.peak_by_node),
        "cpu_by_node": sampler.cpu_s_by_node,
    }  # fmt: skip


def settled_bytes(groups: Callable[[Any], dict[str, set[int]]], timeout_s: float = 20.0) -> int:
    """Memory of the processes once the previous row's have gone (the workers of killed actors exit
    a moment after the kill): the lowest of samples taken until it stops falling."""
    lowest = sum(MemorySampler(groups, 0.25, {}, False).sample(first=True).values())
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = sum(MemorySampler(groups, 0.25, {}, False).sample(first=True).values())
        if now >= lowest * 0.99:
            return min(now, lowest)
        lowest = now
    return lowest


def check_mail(tc: PoolTaskCenter, n: int, peers: int | str) -> tuple[int, int]:
    """Per role: the senders of the mail it holds against the agents that address it."""
    lost = duplicated = 0
    k = n - 1 if peers == "all" else min(int(peers), n - 1)
    for start in range(0, n, CHECK_CHUNK):
        roles = [worker_role(i) for i in range(start, min(n, start + CHECK_CHUNK))]
        mail = call(tc.env, "read_mail_many", roles)
        for role in roles:
            i = int(role[1:])
            want = {worker_role((i - j) % n) for j in range(1, k + 1)}
            got = Counter(d.message.sent_from for d in mail.get(role, []))
            lost += sum(1 for s in want if s not in got)
            duplicated += sum(c - 1 for c in got.values()) + sum(1 for s in got if s not in want)
    return lost, duplicated


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


HEADER = (
    f"{'variant':<34}{'agents':>9}{'shards':>7}{'setup s':>9}{'round s':>9}{'CPU s':>7}{'µs/agent':>10}"
    f"{'peak RSS':>10}{'B/agent':>9}{'lost':>6}{'dup':>5}  load"
)


def show(label: str, row: dict[str, Any]) -> None:
    print(
        f"{label:<34}{row['agents']:>9,}{row['shards']:>7}{row['setup_s']:>9.1f}{row['round_s']:>9.1f}{row['cpu_s']:>7.1f}"
        f"{row['us_per_agent_round']:>10.0f}{row['peak_bytes'] / GIB:>8.2f}Gi{row['bytes_per_agent']:>9,.0f}"
        f"{row['lost']:>6}{row['duplicated']:>5}  {load()}",
        flush=True,
    )


def variants(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    """Two shards, 10 and all recipients, the 50 ms model."""
    for n in [10_000] if args.quick else [20_000, 100_000]:
        row = run_round(n, shards=2, per_pool=args.per_pool)
        show("1 recipient, 2 shards", row)
        rows.append({**row, "label": "2 shards, 1 recipient"})
    n_ten = 10_000 if args.quick else 100_000
    row = run_round(n_ten, peers=10, per_pool=args.per_pool)
    show("10 recipients, 1 shard", row)
    rows.append({**row, "label": "1 shard, 10 recipients"})
    for n in [300] if args.quick else [300, 1000]:
        row = run_round(n, peers="all", per_pool=args.per_pool)
        show("all recipients, 1 shard", row)
        rows.append({**row, "label": "1 shard, all recipients"})
    model_bound(5000 if args.quick else 20_000)


def model_bound(n: int, in_flight: int = 64, pools: int = 2) -> None:
    """The same agents with the instant model, then with a 50 ms one (``in_flight`` calls per pool):
    the second round's floor is the model's time alone, ceil(agents / (pools x in_flight)) x 50 ms."""
    per_pool = math.ceil(n / pools)
    fast = run_round(n, per_pool=per_pool, concurrency=in_flight)
    show(f"instant model, {in_flight}/pool", fast)
    row = run_round(n, per_pool=per_pool, llm=SLOW, concurrency=in_flight)
    floor = math.ceil(n / (in_flight * row["pools"])) * 0.05
    show(f"50 ms model, {in_flight}/pool (floor {floor:.1f} s)", row)
    print(
        f"    50 ms model: round {row['round_s']:.1f} s = {row['round_s'] / floor:.2f}x the model's floor of "
        f"{floor:.1f} s ({row['pools']} pools x {in_flight} calls in flight); the runtime alone takes "
        f"{fast['round_s']:.1f} s for these agents (instant model), and its work overlaps the model calls "
        f"(replies are committed while other agents still wait for the model)",
        flush=True,
    )


def single_node(args: argparse.Namespace) -> list[dict[str, Any]]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    rows: list[dict[str, Any]] = []
    print(HEADER)
    try:
        sizes = args.sizes or ([1000, 10_000] if args.quick else [1000, 10_000, 30_000, 100_000])
        sizes = [] if args.model_bound and args.sizes is None else sizes
        for n in sizes:
            row = run_round(n, per_pool=args.per_pool)
            show("1 recipient, 1 shard", row)
            rows.append({**row, "label": "1 shard, 1 recipient"})
        if args.model_bound:
            model_bound(args.model_bound)
        elif not args.only_sizes:
            variants(args, rows)
    finally:
        ray.shutdown()
    goal = [r for r in rows if r["agents"] == 100_000 and r["shards"] == 1 and r["peers"] == 1]
    if goal:
        g = goal[0]
        checks = [
            ("setup <= 60 s", g["setup_s"] <= 60), ("round <= 60 s", g["round_s"] <= 60),
            ("peak RSS <= 8 GiB", g["peak_bytes"] <= 8 * GIB), ("nothing lost or duplicated", not g["lost"] and not g["duplicated"]),
        ]  # fmt: skip
        print("goals at 100,000 agents: " + ", ".join(f"{name}: {'yes' if ok else 'NO'}" for name, ok in checks))
    return rows


def cluster(args: argparse.Namespace, single: list[dict[str, Any]]) -> None:
    from benchmarks.scale_cluster import ScaleCluster
    from benchmarks.scale_plot import Measured, NodeShape, project_cluster, projection_table

    # memory per agent as measured at the largest one-node size (small sizes carry a pool process each)
    biggest = max(single, key=lambda r: r["agents"], default=None)
    per_agent = biggest["bytes_per_agent"] if biggest else args.bytes_per_agent
    nodes = args.nodes
    print(f"\ncluster: {nodes} ray start nodes on this machine, 1 CPU each; pools and shards spread over them")
    print(f"{'agents':>9}{'shards':>7}{'setup s':>9}{'round s':>9}{'rounds/s':>9}{'lost':>6}{'dup':>5}  peak memory per node")
    largest: Measured | None = None
    with ScaleCluster(nodes=nodes, cpus_per_node=1) as c:
        c.connect(log_to_driver=False)
        for n in args.cluster_sizes:
            free = _available_bytes()
            if n * per_agent > 0.7 * free:
                print(f"{n:>9,}  skipped: ~{n * per_agent / GIB:.1f} GiB needed, {free / GIB:.1f} GiB available here")
                continue
            shards = nodes
            per_pool = max(25_000, math.ceil(n / (2 * nodes)))
            pools = math.ceil(n / per_pool)
            row = run_round(
                n, shards=shards, per_pool=per_pool, placement=c.spread(pools), shard_placement=c.spread(shards),
                groups=lambda table: {**c.pids_by_node(table), "driver": tree_of(table, roots={os.getpid()})},
            )  # fmt: skip
            peaks = row["peak_by_node"]
            per_node = ", ".join(f"{k if k == 'driver' else c.name_of(k)} {v / GIB:.2f} GiB" for k, v in peaks.items())
            print(f"{n:>9,}{shards:>7}{row['setup_s']:>9.1f}{row['round_s']:>9.1f}{1 / row['round_s']:>9.3f}"
                  f"{row['lost']:>6}{row['duplicated']:>5}  {per_node}", flush=True)  # fmt: skip
            largest = Measured(
                agents=n, round_s=row["round_s"], cores=float(nodes), peak_bytes=row["peak_bytes"],
                idle_bytes=row["idle_bytes"],
                nodes=nodes, env_shards=shards, cpu_s=row["cpu_s"] or None,
            )  # fmt: skip
    if largest is not None:
        print("\nprojected real cluster for 1,000,000 agents at one round per minute:")
        print(projection_table(project_cluster(largest, agents=1_000_000, round_s=60, node=NodeShape())))


def _available_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1k and 10k agents, small variants")
    parser.add_argument("--cluster", action="store_true", help="also run on a local multi-node Ray cluster")
    parser.add_argument("--cluster-only", action="store_true", help="only the --cluster rows")
    parser.add_argument("--bytes-per-agent", type=float, default=20_000,
                        help="memory per agent assumed with --cluster-only (to skip sizes that cannot fit)")  # fmt: skip
    parser.add_argument("--nodes", type=int, default=3, help="nodes of the --cluster run")
    parser.add_argument("--cluster-sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[100_000, 300_000, 1_000_000], help="agents per --cluster row (comma-separated)")  # fmt: skip
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=None,
                        help="agents of the one-shard rows (comma-separated; default 1k,10k,30k,100k)")  # fmt: skip
    parser.add_argument("--only-sizes", action="store_true", help="run the one-shard rows alone (no variants)")
    parser.add_argument("--model-bound", type=int, default=0, metavar="AGENTS",
                        help="only the instant and 50 ms model rows at AGENTS agents (with --sizes: those rows too)")  # fmt: skip
    parser.add_argument("--per-pool", type=int, default=50_000, help="agents per pool actor (one node)")
    parser.add_argument("--plot", default=str(Path(__file__).parent / "results" / "scale.png"), help="the PNG")
    args = parser.parse_args()
    own_dir = "MSAGENT_DATA_DIR" not in os.environ
    if own_dir:  # the logs of this run, removed at the end
        os.environ["MSAGENT_DATA_DIR"] = tempfile.mkdtemp(prefix="msagent-bench-scale-")
    print(f"bench_scale: {os.cpu_count()} cores, load {load()}, data dir {os.environ['MSAGENT_DATA_DIR']}")
    try:
        return _run(args)
    finally:
        if own_dir:
            shutil.rmtree(os.environ["MSAGENT_DATA_DIR"], ignore_errors=True)


def _run(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    if not args.cluster_only:
        rows = single_node(args)
    if rows:  # (none with --model-bound alone)
        from benchmarks.scale_plot import plot_scaling

        # wall time per agent, and the CPU time all processes spent per agent (steadier on a shared host)
        cpu = [
            {**r, "us_per_agent_round": r["cpu_us_per_agent_round"], "label": f"{r['label']}, CPU time"}
            for r in rows
            if r["label"] == "1 shard, 1 recipient"
        ]
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        print(f"plot: {plot_scaling(rows + cpu, args.plot)}")
    if args.cluster or args.cluster_only:
        cluster(args, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
