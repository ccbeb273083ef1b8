"""Agent pools: a thousand agents in one actor step in one round, each with exactly its own mail."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from msagent.errors import ModelError
from msagent.runtime import call, create_component
from msagent.runtime.pool import AgentPool, PooledAgent, PoolTaskCenter, create_pool
from msagent.runtime.testing_agents import EchoAgent
from msagent.schemas import Message

N = 1000


def _llm(reply: str = "ok") -> dict[str, Any]:
    return {"model_server": "scripted", "replies": [reply], "cycle": True}


@pytest.fixture(params=["local", "ray"])
def remote(request: pytest.FixtureRequest) -> bool:
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    return bool(request.param == "ray")


def test_thousand_pooled_agents_each_get_exactly_their_mail(remote: bool) -> None:
    tc = PoolTaskCenter(remote=remote, prefix_name=f"p{uuid.uuid4().hex[:8]}")
    try:
        agents = create_pool(
            EchoAgent, [{"name": f"w{i}", "llm": _llm(f"done {i}")} for i in range(N)],
            remote=remote, prefix_name=tc.prefix_name,
        )  # fmt: skip
        sink = create_component(EchoAgent, name="sink", remote=remote, prefix_name=tc.prefix_name, llm=_llm())
        assert len(tc.add_agents([*agents, sink])) == N + 1
        secrets = [
            ("user_requirement", Message(role="user", content=f"secret-{i}", send_to=f"w{i}"))
            for i in range(N)
        ]
        call(tc.env, "store_messages", secrets)

        frames = list(tc.step(allowed_roles=[a.role for a in agents], send_to="sink"))

        assert Counter(f.split(": ", 1)[0] for f in frames) == {f"w{i}": 2 for i in range(N)}  # "done", " i"
        prompts = call(agents[0].pool, "call_all", "model_prompts")
        for i in range(N):
            (prompt,) = prompts[f"w{i}"]  # stepped once
            assert prompt[-1] == ("user", f"user_requirement: secret-{i}")
        inbox = call(tc.env, "read_mail", "sink")
        assert sorted(d.message.content for d in inbox) == sorted(f"done {i}" for i in range(N))
        assert call(tc.env, "get_notified_roles") == ["sink"]  # every worker's mail was acknowledged
        # a second round has nothing new for the workers
        assert list(tc.step(allowed_roles=["w7"], send_to="sink")) == ["w7: done", "w7:  7"]
        assert call(agents[7].pool, "call_agent", "w7", "model_prompts")[-1][-1] == ("user", "")
    finally:
        tc.close()


def test_pooled_and_single_agents_share_a_round_and_a_failure_stays_local(remote: bool) -> None:
    tc = PoolTaskCenter(remote=remote, prefix_name=f"p{uuid.uuid4().hex[:8]}")
    try:
        pooled = create_pool(
            EchoAgent,
            [{"name": "good", "llm": _llm("fine")}, {"name": "broken", "llm": {"model_server": "scripted", "replies": []}}],
            remote=remote, prefix_name=tc.prefix_name, concurrency=2,
        )  # fmt: skip
        solo = create_component(
            EchoAgent, name="solo", remote=remote, prefix_name=tc.prefix_name, llm=_llm("me")
        )
        tc.add_agents([*pooled, solo])
        tc.send_task_request("go")
        frames: list[str] = []
        with pytest.raises(ModelError, match="no replies"):
            for frame in tc.step():
                frames.append(frame)
        assert sorted(frames) == ["good: fine", "solo: me"]
        history = [m.sent_from for m in call(tc.env, "extract_all_history_message", None)]
        assert sorted(history) == ["good", "solo", "user_requirement"]  # good's reply survived broken's error
        assert "broken" in call(tc.env, "get_notified_roles")  # not acknowledged: it will be retried
    finally:
        tc.close()


def test_pooled_agent_reference_behaves_like_an_agent() -> None:
    pool = AgentPool(name="p")
    (ref,) = [PooledAgent(pool, r) for r in pool.spawn(EchoAgent, [{"name": "x", "llm": _llm("hey")}])]
    assert ref.agent_info().role == "x"
    tc = PoolTaskCenter()
    tc.add_agents([ref])
    tc.send_task_request("hello", send_to="x")
    assert list(ref.step()) == ["x: hey"]
    assert ref.call("last_reply") == "hey"
    with pytest.raises(Exception, match="already hosts role 'x'"):
        pool.spawn(EchoAgent, [{"name": "x", "llm": _llm()}])
