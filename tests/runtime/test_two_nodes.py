"""A two-node Ray cluster on one host (``ray start --head`` plus a second ``ray start`` with a
custom resource, both stopped by PID): the Environment, the Registry and the agents are pinned to
the second node by ``actor_options``; its raylet and the workers it started are SIGKILLed mid-round; the run finishes on the
head node with nothing lost or duplicated, the stateful actors restored from disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runtime.ray_processes import pid_of, ray_cluster_of

HERE = Path(__file__).resolve().parent
# a dead node is noticed after about 3 s instead of the default 30 s (only in this private cluster)
FAST_NODE_FAILURE = {
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_second_node_dies_mid_round_and_the_run_finishes_on_the_head(tmp_path: Path) -> None:
    with ray_cluster_of([{"head": 1}, {"node2": 10}], extra_env=FAST_NODE_FAILURE) as cluster:
        raylet2 = pid_of(cluster.temp_dir, "raylet", f"--node_manager_port={cluster.node_ports[1]}")
        out = tmp_path / "result.json"
        env = {**cluster.env, "MSAGENT_DATA_DIR": str(tmp_path / "data")}
        proc = subprocess.run(
            [sys.executable, str(HERE / "two_node_driver.py"), cluster.address, str(raylet2), str(out)],
            env=env, capture_output=True, text=True, timeout=500, cwd=HERE.parents[1],
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
        result = json.loads(out.read_text())

    node2, head = result["node2"], result["head"]
    assert set(result["before"].values()) == {node2}, result["before"]  # pinned by actor_options
    assert set(result["after"].values()) == {head}, result["after"]  # all restarted on the head
    assert len(result["killed"]) > 1 and result["node2_dead"], result["killed"]  # the raylet and its workers
    assert result["killed_at"] and result["stop_reason"] == "max_rounds" and result["lost"] == {}
    assert result["rounds_done"] == 5
    speakers = [who for who, _ in result["messages"]]
    assert speakers[0] == "user_requirement" and len(speakers) == 1 + 5 * 3
    for role, check in result["checks"].items():
        assert check["replies"] == 5, (role, check)  # one reply a round: none lost, none doubled
        assert check["heard_twice"] == 0, (role, check)
        assert check["heard_or_unread_equals_addressed"], (role, check)
        assert check["digests_ok"], (role, check)  # each reply made from its full history and mail
    assert any(c["retry_notice_seen"] for c in result["checks"].values())  # the cut turn was retried
