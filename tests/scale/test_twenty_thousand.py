"""20,000 agents in two pools over an Environment of two shards: one round in which every agent
reads its mail and replies to the next agent on a ring; per role, nothing lost or duplicated.
(Speed is measured in benchmarks/bench_scale.py, not here.)"""

from __future__ import annotations

import uuid
from collections import Counter

from msagent.runtime import call
from msagent.runtime.pool import PoolTaskCenter, create_pool
from msagent.runtime.testing_scale import PeerAgent, ring_peers, worker_role

N = 20_000
POOLS = 2


def test_twenty_thousand_agents_on_two_shards_lose_and_repeat_nothing(ray_cluster: None) -> None:
    tc = PoolTaskCenter(remote=True, prefix_name=f"k{uuid.uuid4().hex[:8]}", env_shards=2)
    try:
        llm = {"model_server": "scripted", "replies": ["ok"], "cycle": True}
        per = N // POOLS
        agents = []
        for p in range(POOLS):
            kwargs = [{"name": worker_role(i), "llm": llm, "peers": ring_peers(i, N, 1)} for i in range(p * per, (p + 1) * per)]
            agents += create_pool(PeerAgent, kwargs, name=f"pool{p}", remote=True, prefix_name=tc.prefix_name)
        roles = [a.role for a in agents]
        assert len(tc.add_agents(agents)) == N
        shards = call(tc.env, "info")["shard_info"]
        assert [s["roles"] for s in shards] == [sum(1 for r in roles if tc.env.shard_of(r) == i) for i in range(2)]
        assert min(s["roles"] for s in shards) > N // 3  # spread over both shards

        tc.send_task_request("start")  # a broadcast, stored once per shard
        frames = Counter(f.split(": ", 1)[0] for f in tc.step(allowed_roles=roles))
        assert frames == dict.fromkeys(roles, 1)

        mail = call(tc.env, "read_mail_many", roles)
        senders = {role: [d.message.sent_from for d in mail[role]] for role in roles}
        wrong = {r: s for r, s in senders.items() if s != [worker_role((int(r[1:]) - 1) % N)]}
        assert not wrong, f"{len(wrong)} roles with lost or repeated mail, e.g. {list(wrong.items())[:3]}"
        ids = [d.message.id for r in roles for d in mail[r]]
        assert len(set(ids)) == N
        # the task was acknowledged by all: only the N replies are still open (each on one shard)
        assert call(tc.env, "info")["open_messages"] == N
        assert len(call(tc.env, "get_notified_roles")) == N
    finally:
        tc.close()
