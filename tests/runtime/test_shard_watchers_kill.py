"""Watchers on an Environment of 2 shards (``env_shards``) survive crashes as on one Environment:
each shard SIGKILLed mid-run while a watcher directs the speakers, and a pool hosting a watcher
killed mid-round together with both shards; the watchers hear every message exactly once (or
still have it unread), nothing is published twice."""

from __future__ import annotations

import os
import signal
import uuid
from collections import Counter

from environment.routing import shard_of
from msagent.agents.env_mixin import RETRY_NOTICE
from msagent.llm import FunctionModel, ScriptedTurn
from msagent.runtime import call, create_component
from msagent.runtime.testing_agents import EchoAgent
from msagent.schemas import Message

SHARDS = 2


def _names(count: int) -> tuple[str, ...]:
    """``count`` one-letter roles, taken from both shards in turn."""
    groups = [[c for c in "abcdefghijklmnopqrstuvwxyz" if shard_of(c, SHARDS) == i] for i in range(SHARDS)]
    return tuple(c for row in zip(*groups, strict=False) for c in row)[:count]


def _counting(name: str) -> FunctionModel:
    state = {"n": 0}

    def reply(messages, tools):
        state["n"] += 1
        return ScriptedTurn(text=f"{name}-{state['n']} ok then", chunk_delay_s=0.05)

    return FunctionModel(reply)


def _lines(prompts: list) -> Counter[str]:
    return Counter(line for p in prompts for line in p[-1][1].splitlines() if line.strip())


def _each_once(heard: Counter[str], unread: list[Message], history: list[Message], role: str) -> None:
    expected = Counter(f"{m.sent_from}: {m.content}" for m in history if m.sent_from != role)
    assert heard + Counter(f"{m.sent_from}: {m.content}" for m in unread) == expected, role
    assert max(heard.values()) == 1, role


def test_each_shard_killed_while_a_watcher_directs_loses_and_repeats_nothing(ray_cluster) -> None:
    import ray

    from task_center import TaskCenter

    prefix = f"wk{uuid.uuid4().hex[:6]}"
    names = _names(3)
    tc = TaskCenter(
        remote=True, prefix_name=prefix, env_shards=SHARDS,
        policy={"name": "director", "director": "director", "max_speakers": 2},
    )  # fmt: skip
    agents = [
        create_component(EchoAgent, name=n, remote=True, prefix_name=prefix, llm=_counting(n), use_history=False)
        for n in names
    ]
    # not JSON: the policy falls back to round-robin, but asks (steps) the director every round
    director = create_component(
        EchoAgent, name="director", remote=True, prefix_name=prefix, is_watcher=True, use_history=False,
        llm=FunctionModel(lambda messages, tools: ScriptedTurn(text="(thinking)", chunk_delay_s=0.05)),
    )  # fmt: skip
    try:
        tc.add_agents([*agents, director])
        env = tc.get_env()
        shards = env.shard_handles()
        pids = [call(s, "info")["pid"] for s in shards]
        kill_at = {10: shards[0], 22: shards[1]}  # frames, mid-run: about to publish or be read
        frames: list[str] = []
        for frame in tc.run(task="count with me", max_rounds=10):
            frames.append(frame)
            if len(frames) in kill_at:
                ray.kill(kill_at[len(frames)], no_restart=False)
        assert len(frames) == 30 and tc.get_lost_agents() == {}  # 10 rounds, one speaker each (round-robin)
        assert all(call(s, "info")["pid"] not in pids for s in shards)  # both really restarted

        history = call(env, "extract_all_history_message", None)
        replies = [m.content for m in history[1:]]
        assert history[0].content == "count with me" and len(replies) == len(set(replies)) == len(frames) // 3
        watcher = call(director, "model_prompts")
        assert len(watcher) == 10  # asked once a round
        _each_once(_lines(watcher), call(env, "extract_message_by_role", "director"), history, "director")
        for agent, name in zip(agents, names, strict=True):
            _each_once(_lines(call(agent, "model_prompts")), call(env, "extract_message_by_role", name), history, name)
    finally:
        tc.close()
        for actor in [*agents, director]:
            ray.kill(actor, no_restart=True)


def test_a_pool_with_a_watcher_killed_mid_round_with_both_shards_hears_everything_once(ray_cluster) -> None:
    import ray

    from msagent.runtime.pool import PoolTaskCenter, create_pool
    from msagent.runtime.testing_agents import DigestAgent

    names = _names(3)
    prefix = f"wp{uuid.uuid4().hex[:6]}"
    tc = PoolTaskCenter(remote=True, prefix_name=prefix, restart_timeout_s=90, env_shards=SHARDS)
    specs = [{"name": n, "chunk_delay_s": 0.05, "words": 6} for n in names]
    specs.append({"name": "spy", "chunk_delay_s": 0.05, "words": 6, "is_watcher": True})
    agents = create_pool(DigestAgent, specs, remote=True, prefix_name=prefix, concurrency=4)
    pool = agents[0].pool
    everyone = [*names, "spy"]
    try:
        tc.add_agents(agents)
        pid = ray.get(pool.__ray_call__.remote(lambda self: os.getpid()))
        shard_pids = [call(h, "info")["pid"] for h in tc.env.shard_handles()]
        frames: list[str] = []
        for frame in tc.step(task="start", allowed_roles=everyone):
            frames.append(frame)
            if len(frames) == 4:
                for victim in (pid, *shard_pids):
                    os.kill(victim, signal.SIGKILL)
        spoken = "".join(f.split(": ", 1)[1] for f in frames if f.startswith("spy: "))
        assert RETRY_NOTICE in spoken
        for _ in range(2):
            frames += list(tc.step(allowed_roles=everyone))
        assert tc.get_lost_agents() == {}
        assert not {call(h, "info")["pid"] for h in tc.env.shard_handles()} & set(shard_pids)

        history = call(tc.env, "extract_all_history_message", None)
        assert len(history) == 1 + 3 * len(names)  # the task, and one reply a round from each speaker
        assert len({m.id for m in history}) == len(history)
        # the restarted pool's watcher: the retried round (the task), then each round's replies once
        prompts = call(pool, "call_agent", "spy", "model_prompts")
        assert len(prompts) == 3 and prompts[0][-1][1] == "user_requirement: start"
        _each_once(_lines(prompts), call(tc.env, "extract_message_by_role", "spy"), history, "spy")
        assert call(tc.env, "read_mail", "spy") == []
    finally:
        tc.close()
