"""A sharded Environment (``env_shards: N``) behind the same API: mail of a role on one shard,
publishes fanned out per shard, each message once per recipient, and a publish cut by a crash
completed by the retry's lookup."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from environment.sharded import ShardedEnvironment
from msagent.errors import ConfigError, UnknownRoleError
from msagent.runtime import call, create_component
from msagent.runtime.pool import BatchEnvironment, PoolTaskCenter, create_pool
from msagent.runtime.scenario import parse_scenario
from msagent.runtime.testing_agents import EchoAgent
from msagent.runtime.testing_scale import PeerAgent, ring_peers, worker_role
from msagent.schemas import Message

N = 60


def _llm(reply: str) -> dict[str, Any]:
    return {"model_server": "scripted", "replies": [reply], "cycle": True}


def test_a_sharded_round_delivers_each_message_once_per_role() -> None:
    tc = PoolTaskCenter(prefix_name=f"s{uuid.uuid4().hex[:8]}", env_shards=3, instance_id=uuid.uuid4().hex)
    try:
        env = tc.env
        assert isinstance(env, ShardedEnvironment)
        kwargs = [
            {"name": worker_role(i), "llm": _llm(f"from {i}"), "peers": ring_peers(i, N, 2)} for i in range(N)
        ]
        agents = create_pool(PeerAgent, kwargs, prefix_name=tc.prefix_name)
        solo = create_component(EchoAgent, name="solo", prefix_name=tc.prefix_name, llm=_llm("solo here"))
        tc.add_agents([*agents, solo])
        assert {env.shard_of(worker_role(i)) for i in range(N)} == {0, 1, 2}  # the roles are spread
        assert sorted(env.get_roles()) == sorted([*(worker_role(i) for i in range(N)), "solo"])

        tc.send_task_request("hello all")  # a broadcast: one copy per shard
        env.store_messages([("user_requirement", Message(role="user", content=f"secret {i}", send_to=worker_role(i)))
                            for i in range(N)])  # fmt: skip
        frames = list(tc.step(allowed_roles=[worker_role(i) for i in range(N)]))
        assert Counter(f.split(": ", 1)[0] for f in frames) == {worker_role(i): 2 for i in range(N)}
        prompts = call(agents[0].pool, "call_all", "model_prompts")
        for i in range(N):
            assert prompts[worker_role(i)] == [[("user", f"user_requirement: hello all\nuser_requirement: secret {i}")]]

        # each worker now holds exactly the replies of the two before it on the ring
        mail = env.read_mail_many([worker_role(i) for i in range(N)])
        for i in range(N):
            got = sorted(d.message.content for d in mail[worker_role(i)])
            assert got == sorted(f"from {(i - j) % N}" for j in (1, 2)), i
        assert sorted(env.get_notified_roles()) == sorted(["solo", *(worker_role(i) for i in range(N))])
        assert [d.message.content for d in env.read_mail("solo")] == ["hello all"]

        # the log: every message once (a broadcast is on every shard), in a readable order
        log = env.read_log(0, 10_000)
        assert len(log) == 1 + N + N and len({d.message.id for d in log}) == len(log)
        assert env.read_log(log[-1].seq, 10) == []
        assert env.read_log(log[9].seq, 5) == log[10:15]
        # history rebuilt from the shard of each role
        (turn,) = env.get_conversation(worker_role(3))
        assert [m.content for m in turn.received] == ["hello all", "secret 3"] and turn.reply.content == "from 3"
        assert [m.content for m in env.extract_all_history_message(1)] == [log[-1].message.content]
        # a second round answers the replies; acknowledgements are per role, on its shard
        frames = list(tc.step(allowed_roles=[worker_role(5)], send_to="solo"))
        assert frames == ["w5: from", "w5:  5"]
        assert env.read_mail(worker_role(5)) == []
        assert call(agents[5].pool, "call_agent", worker_role(5), "model_prompts")[-1][-1] == (
            "user", "w3: from 3\nw4: from 4",
        )  # fmt: skip
    finally:
        tc.close()


def test_a_publish_cut_between_shards_is_completed_by_the_lookup_of_a_retry() -> None:
    env = create_component(BatchEnvironment, "env", prefix_name=f"c{uuid.uuid4().hex[:8]}", env_shards=2)
    try:
        roles = [worker_role(i) for i in range(8)]
        env.register_roles(roles)
        sender = next(r for r in roles if env.shard_of(r) == 0)
        other = next(r for r in roles if env.shard_of(r) == 1)
        msg = Message(role=sender, content="half sent", sent_from=sender, send_to=[other])
        # what a crash after the sender's shard committed leaves: the reply and its ack, no copy
        env.shard_handles()[0].store_messages([(sender, msg)], acks=[(sender, 0)])
        assert env.read_mail(other) == []
        (found,) = env.find_messages([msg.id])
        assert found.message.id == msg.id
        assert [d.message.content for d in env.read_mail(other)] == ["half sent"]
        env.find_messages([msg.id])  # asking again stores nothing twice
        env.store_messages([(sender, msg)])  # nor does a retried publish
        assert len(env.read_mail(other)) == 1
    finally:
        env.close()


def test_shards_refuse_what_they_cannot_do_with_a_clear_error() -> None:
    env = create_component(BatchEnvironment, "env", prefix_name=f"e{uuid.uuid4().hex[:8]}", env_shards=2)
    try:
        env.register_roles(["a", "b", "c"])
        with pytest.raises(UnknownRoleError):  # refused before any shard stored it
            env.store_message_from_role("a", Message(role="a", content="x", send_to=["b", "nobody"]))
        assert env.read_mail("b") == [] and env.last_seq() == (0, 0)
        with pytest.raises(ConfigError, match="tuple"):
            env.read_mail("a", 3)
    finally:
        env.close()
    with pytest.raises(ConfigError, match="env_shards"):
        PoolTaskCenter(prefix_name="bad", env_shards=0)
    scenario = parse_scenario({
        "agents": [{"role": "a", "llm": _llm("x")}], "task": {"content": "go"}, "env_shards": 4,
    })  # fmt: skip
    assert scenario.env_shards == 4


def test_a_plain_task_center_with_agents_of_their_own_runs_on_shards() -> None:
    from task_center import TaskCenter

    tc = TaskCenter(prefix_name=f"p{uuid.uuid4().hex[:8]}", env_shards=2)
    try:
        names = ["alice", "bob", "carol", "dave"]
        agents = [create_component(EchoAgent, name=n, prefix_name=tc.prefix_name, llm=_llm(f"{n} here")) for n in names]
        tc.add_agents(agents)
        assert len({tc.env.shard_of(n) for n in names}) == 2
        tc.send_task_request("hi")  # to all
        frames = list(tc.step(send_to=["bob", "dave"]))  # replies to bob and dave
        assert sorted({f.split(":")[0] for f in frames}) == names
        got = {n: sorted(d.message.sent_from for d in tc.env.read_mail(n)) for n in names}
        assert got == {"alice": [], "carol": [], "bob": ["alice", "carol", "dave"], "dave": ["alice", "bob", "carol"]}
        assert tc.get_last_stop_reason() == ""
        tc.reset_env()
        assert tc.env.get_notified_roles() == [] and tc.env.extract_all_history_message(5) == []
    finally:
        tc.close()
