"""The scale benchmark's local multi-node cluster (benchmarks/scale_cluster.py): two ``ray start``
nodes with their own resources and folders, an Environment shard and a pool pinned to each by
``shard_actor_options`` / ``actor_options``, a round of 3,000 pooled agents with nothing lost or
doubled, memory and CPU sampled per node (each actor's process counted on the node it runs on),
and every process of the cluster gone afterwards (by PID)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.scale_cluster import NodeSpec, ScaleCluster, process_table, stop_pids, tree_of

HERE = Path(__file__).resolve().parent
PER_POOL = 1500
MIB = 2**20


def started_at(pids: set[int]) -> dict[int, str]:
    """``{pid: start time in clock ticks}`` of those running (a reused PID has another start time)."""
    out = {}
    for pid in pids:
        try:
            out[pid] = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
        except (OSError, IndexError):
            pass
    return out


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_nodes_pools_placed_memory_per_node_nothing_left(tmp_path: Path) -> None:
    specs = [
        NodeSpec("head", num_cpus=1, object_store_mb=100),
        NodeSpec("node1", num_cpus=1, object_store_mb=100),
    ]
    out = tmp_path / "result.json"
    with ScaleCluster(specs) as cluster:
        root = cluster.root
        head, node1 = ids = cluster.node_ids()
        assert len(set(ids)) == 2 and all(len(i) == 56 for i in ids), ids
        assert cluster.name_of(node1) == "node1"
        idle = cluster.node_rss()
        started = cluster.pids_by_node()
        assert all(idle[i] > 0 and started[i] for i in ids), (idle, started)
        assert not started[head] & started[node1]  # each process is counted on one node

        token = cluster.env["RAY_AUTH_TOKEN"]
        no_token = {k: v for k, v in cluster.env.items() if not k.startswith("RAY_AUTH")}
        driver = subprocess.Popen(
            [sys.executable, str(HERE / "cluster_harness_driver.py"), cluster.address, token, str(out),
             str(PER_POOL), "node1", *ids],
            env=no_token, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE.parents[1],
        )  # fmt: skip
        t0 = time.monotonic()
        with cluster.sample_memory(interval_s=0.2, extra={"driver": driver.pid}) as memory:
            log, _ = driver.communicate(timeout=200)
        elapsed = time.monotonic() - t0
        assert driver.returncode == 0, log[-5000:]
        result = json.loads(out.read_text())
        seen = set().union(*memory.pids_seen.values())
        ours = started_at(seen | set().union(*cluster.pids_by_node().values()))
        assert len(ours) > 10, ours  # raylets, GCS, agents, workers of both nodes

    # placement: the registry on the head, one Environment shard and one pool on each node (node
    # affinity), the sink on node1's own resource
    assert result["registry"]["node"] == head and result["sink"]["node"] == node1
    assert [s["node"] for s in result["shards"]] == [head, node1]
    assert [p["node"] for p in result["pools"]] == [head, node1]
    # memory: each actor's process was counted on its own node, the driver on its own
    for pool in result["pools"]:
        assert pool["pid"] in memory.pids_seen[pool["node"]]
    for shard in result["shards"]:
        assert shard["pid"] in memory.pids_seen[shard["node"]]
    assert driver.pid in memory.pids_seen["driver"] and not memory.pids_seen["driver"] & (
        seen - memory.pids_seen["driver"]
    )
    # a pool of 1,500 agents is a new worker process on node1: its peak is above its idle memory
    assert memory.peak_by_node[node1] >= idle[node1] + 20 * MIB, (memory.peak_by_node, idle)
    assert memory.peak_by_node[head] >= idle[head] + 20 * MIB, (memory.peak_by_node, idle)
    assert memory.peak_by_node["driver"] > 20 * MIB
    assert max(memory.peak_by_node.values()) <= memory.peak_total <= sum(memory.peak_by_node.values())
    assert len(memory.samples) >= 3
    # CPU: the pools built and stepped 1,500 agents on each node; no more than the cores could give
    cpu = memory.cpu_s_by_node
    assert cpu[node1] > 0.2 and cpu[head] > 0.2 and cpu["driver"] > 0.2, cpu
    assert memory.cpu_s_total <= elapsed * (os.cpu_count() or 1) + 1, (cpu, elapsed)
    # the round: every pooled agent replied exactly once
    roles = result["roles"]
    assert len(roles) == 2 * PER_POOL and result["frames"] == 2 * PER_POOL
    assert result["replies"] == {r: 1 for r in roles}
    # nothing of the cluster is left: no process we saw, none naming its folder, the folder gone
    still = {p for p, t in started_at(set(ours)).items() if ours[p] == t}
    assert not still, sorted(still)
    assert not [p for p, (_, cmd) in process_table().items() if root in cmd]
    assert not Path(root).exists()


HOLD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from benchmarks.scale_cluster import ScaleCluster
with ScaleCluster(1, object_store_mb=80) as cluster:
    print(cluster.root, flush=True)
    time.sleep(600)
"""


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_sigterm_to_the_process_that_started_the_cluster_stops_the_cluster() -> None:
    # ray start detaches the nodes: without this, a `timeout` around a benchmark would leave them running
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(HERE.parents[1])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    root = ""
    try:
        assert proc.stdout is not None
        root = proc.stdout.readline().strip()
        assert root and tree_of(process_table(), root), proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM
        assert not tree_of(process_table(), root) and not Path(root).exists()
    finally:
        proc.kill()
        proc.wait()
        if root:  # whatever a failed run left
            stop_pids(tree_of(process_table(), root))
            shutil.rmtree(root, ignore_errors=True)
