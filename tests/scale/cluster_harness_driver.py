"""The driver of the cluster-harness test (its own process: one process joins one Ray cluster).

``python cluster_harness_driver.py ADDRESS TOKEN OUT.json AGENTS_PER_POOL SINK_NODE NODE_ID...``:
joins with the token (started without one in its environment, Ray imported first), puts a
PoolTaskCenter's Registry on the first node and one Environment shard on each node, one pool of AGENTS_PER_POOL scripted
agents on each given node, a sink on the node named SINK_NODE (node affinity and node resource
``actor_options`` from the harness); one round in which every pooled agent reads the task and
replies to the sink; writes where each actor ran (node and PID) and what the sink got to OUT.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import ray  # noqa: E402

from benchmarks.scale_cluster import join, on_node, with_resource  # noqa: E402
from msagent.runtime import call, create_component  # noqa: E402
from msagent.runtime.pool import PoolTaskCenter, create_pool  # noqa: E402
from msagent.runtime.testing_agents import EchoAgent  # noqa: E402

LLM = {"model_server": "scripted", "replies": ["ok"], "cycle": True}


def where(actor: Any) -> dict[str, Any]:
    def probe(self: Any) -> tuple[int, str]:
        return os.getpid(), ray.get_runtime_context().get_node_id()

    pid, node = ray.get(actor.__ray_call__.remote(probe))
    return {"pid": pid, "node": node}


def main() -> None:
    address, token, out, per_pool, sink_node = sys.argv[1:6]
    node_ids = sys.argv[6:]
    assert "RAY_AUTH_TOKEN" not in os.environ and ray.__version__
    join(address, token)
    prefix = f"h{uuid.uuid4().hex[:6]}"
    tc = PoolTaskCenter(
        remote=True, prefix_name=prefix, actor_options=on_node(node_ids[0]),
        env_shards=len(node_ids), shard_actor_options=[on_node(n) for n in node_ids],
    )  # fmt: skip
    agents: list[Any] = []
    pools = []
    t0 = time.perf_counter()
    for i, node in enumerate(node_ids):
        members = create_pool(
            EchoAgent, [{"name": f"n{i}a{j}", "llm": LLM} for j in range(int(per_pool))], name=f"pool{i}",
            remote=True, prefix_name=prefix, actor_options=on_node(node),
        )  # fmt: skip
        agents += members
        pools.append(members[0].pool)
    sink = create_component(EchoAgent, name="sink", remote=True, prefix_name=prefix, llm=LLM,
                            actor_options=with_resource(sink_node))  # fmt: skip
    tc.add_agents([*agents, sink])
    setup_s = time.perf_counter() - t0
    roles = [a.role for a in agents]
    tc.send_task_request("hello everyone", send_to=roles)
    t0 = time.perf_counter()
    frames = sum(1 for _ in tc.step(allowed_roles=roles, send_to="sink"))
    round_s = time.perf_counter() - t0
    replies = Counter(d.message.sent_from for d in call(tc.env, "read_mail", "sink"))
    result = {
        "shards": [where(h) for h in tc.env.shard_handles()], "registry": where(tc.registry), "sink": where(sink),
        "pools": [where(p) for p in pools], "frames": frames, "roles": roles,
        "replies": dict(replies), "setup_s": setup_s, "round_s": round_s,
    }  # fmt: skip
    Path(out).write_text(json.dumps(result))
    tc.close()
    ray.kill(sink, no_restart=True)


if __name__ == "__main__":
    main()
