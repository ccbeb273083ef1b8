"""Agents and stateful actors that crash: restarts, re-attachment, one retried step, lost agents
disabled with a reason, roles taken over; state of the Environment, Registry and Task Center
actors back from disk."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from environment import Environment
from msagent.agents.env_mixin import RETRY_NOTICE
from msagent.errors import ConfigError, DuplicateRoleError
from msagent.llm import FunctionModel, ScriptedTurn
from msagent.runtime import call, create_component
from msagent.runtime.testing_agents import EchoAgent
from registry import AgentRegistry
from task_center import TaskCenter

pytestmark = pytest.mark.usefixtures("ray_cluster")


def pid_model(delay: float = 0.15) -> FunctionModel:
    """Replies name the process that produced them, so two runs of a step differ."""
    return FunctionModel(lambda m, t: ScriptedTurn(text=f"from pid {os.getpid()} done", chunk_delay_s=delay))


def spoken(frames: list[str], role: str) -> str:
    return "".join(f.split(": ", 1)[1] for f in frames if f.startswith(f"{role}: "))


def test_an_agent_killed_mid_step_is_stepped_again_and_publishes_that_run():
    prefix = f"ag{uuid.uuid4().hex[:6]}"
    tc = TaskCenter(remote=True, prefix_name=prefix, restart_timeout_s=90)
    a = create_component(EchoAgent, name="a", remote=True, prefix_name=prefix, llm=pid_model())
    b = create_component(EchoAgent, name="b", remote=True, prefix_name=prefix, llm=pid_model(0.05))
    try:
        tc.add_agents([a, b])
        first_pid = call(a, "process_id")
        frames: list[str] = []
        for frame in tc.step(task="go"):
            frames.append(frame)
            if frame.startswith("a: ") and len([f for f in frames if f.startswith("a: ")]) == 2:
                os.kill(first_pid, signal.SIGKILL)
        text = spoken(frames, "a")
        assert RETRY_NOTICE in text
        cut, retried = text.split(RETRY_NOTICE, 1)
        assert cut and f"from pid {first_pid} done".startswith(cut)  # what streamed before the crash
        second_pid = call(a, "process_id")
        assert second_pid != first_pid and retried == f"from pid {second_pid} done"
        history = call(tc.env, "extract_all_history_message", None)
        assert [(m.sent_from, m.content) for m in history if m.sent_from == "a"] == [("a", retried)]
        assert spoken(frames, "b") == f"from pid {call(b, 'process_id')} done"
        # the restarted agent found its environment by itself and steps on as before
        assert sorted(call(tc.env, "get_notified_roles")) == ["a", "b"]  # each heard the other
        assert spoken(list(tc.step()), "a") == f"from pid {second_pid} done"
        assert tc.get_lost_agents() == {}
    finally:
        tc.close()
        for x in (a, b):
            import ray

            ray.kill(x, no_restart=True)


def test_an_agent_dead_for_good_is_disabled_with_a_reason_and_its_role_can_be_taken_over():
    import ray

    prefix = f"ad{uuid.uuid4().hex[:6]}"
    tc = TaskCenter(remote=True, prefix_name=prefix, restart_timeout_s=30)
    a = create_component(
        EchoAgent, name="a", remote=True, prefix_name=prefix, llm=pid_model(), actor_options={"max_restarts": 0}
    )
    b = create_component(EchoAgent, name="b", remote=True, prefix_name=prefix, llm=pid_model(0.05))
    spare = None
    try:
        tc.add_agents([a, b])
        pid = call(a, "process_id")
        frames = []
        for frame in tc.run(task="go", max_rounds=1):
            frames.append(frame)
            if frame.startswith("a: "):
                os.kill(pid, signal.SIGKILL)
        reason = tc.get_last_stop_reason()
        assert reason.startswith("max_rounds; a disabled: its actor died"), reason
        assert list(tc.get_lost_agents()) == ["a"]
        assert spoken(frames, "b").endswith(" done")  # the round went on without it
        assert call(tc.registry, "get_available_roles") == ["b"]
        # a live agent's role is not taken; the dead one's is, and its unread task is still there
        with pytest.raises(DuplicateRoleError, match="'b'"):
            tc.add_agents([create_component(EchoAgent, name="b2", role="b", remote=True, prefix_name=prefix,
                                            llm=pid_model())])  # fmt: skip
        spare = create_component(EchoAgent, name="a_new", role="a", remote=True, prefix_name=prefix, llm=pid_model(0))
        assert tc.add_agents([spare]) == ["a"]
        assert tc.get_lost_agents() == {}
        frames = list(tc.step(allowed_roles="a"))  # one role as a string (the seed's form)
        assert spoken(frames, "a") == f"from pid {call(spare, 'process_id')} done"
        prompt = call(spare, "model_prompts")[-1][-1][1]
        assert "user_requirement: go" in prompt
        tc.remove_agent("a")
        assert tc.get_roles() == ["b"] and "a" not in call(tc.env, "get_roles")
        assert call(tc.registry, "get_roles") == ["b"]
    finally:
        tc.close()
        for x in (a, b, spare):
            if x is not None:
                ray.kill(x, no_restart=True)


def test_named_environment_and_registry_actors_come_back_with_their_state():
    import ray

    prefix = f"st{uuid.uuid4().hex[:6]}"
    env = create_component(Environment, name="env", remote=True, prefix_name=prefix, force_new=True)
    reg = create_component(AgentRegistry, name="reg", remote=True, prefix_name=prefix, force_new=True)
    agent = create_component(EchoAgent, name="x", remote=True, prefix_name=prefix, llm=pid_model(0))
    try:
        call(env, "register_roles", ["a", "b"])
        call(env, "store_message_from_role", "a", "kept")
        call(reg, "register_agent", "x", agent)
        call(reg, "disable_agent", "x")
        for actor in (env, reg):
            os.kill(ray.get(actor.__ray_call__.remote(lambda self: os.getpid())), signal.SIGKILL)
        assert [d.message.content for d in call(env, "read_mail", "b")] == ["kept"]
        assert call(env, "get_roles") == ["a", "b"]
        assert call(reg, "get_roles") == ["x"] and call(reg, "get_available_roles") == []
        assert call(call(reg, "get_agent", "x"), "get_role") == "x"  # the handle came back too
        # a new actor under the same name reopens the same state; force_new starts empty
        ray.kill(env, no_restart=True)
        again = create_component(Environment, name="env", remote=True, prefix_name=prefix)
        assert [d.message.content for d in call(again, "read_mail", "b")] == ["kept"]
        fresh = create_component(Environment, name="env", remote=True, prefix_name=prefix, force_new=True)
        assert call(fresh, "get_roles") == [] and call(fresh, "extract_all_history_message", None) == []
        env = fresh
    finally:
        for x in (env, reg, agent):
            ray.kill(x, no_restart=True)


def test_a_task_center_actor_comes_back_with_its_agents_and_rounds():
    import ray

    prefix = f"tk{uuid.uuid4().hex[:6]}"
    tc = create_component(TaskCenter, name="task_center", remote=True, prefix_name=prefix)
    a = create_component(EchoAgent, name="a", remote=True, prefix_name=prefix, llm=pid_model(0))
    b = create_component(EchoAgent, name="b", remote=True, prefix_name=prefix, llm=pid_model(0))
    try:
        call(tc, "add_agents", [a, b])
        frames = list(ray.get(r) for r in tc.step.remote(task="hello", allowed_roles=["a"]))
        assert spoken(frames, "a").endswith("done")
        pid = ray.get(tc.__ray_call__.remote(lambda self: os.getpid()))
        os.kill(pid, signal.SIGKILL)
        # the restarted center reopens its env and registry (recreated: they died with their owner)
        assert call(tc, "get_roles") == ["a", "b"]
        assert call(tc, "get_rounds_done") == 1
        assert call(tc, "notified_roles") == ["b"]
        frames = list(ray.get(r) for r in tc.step.remote())
        assert spoken(frames, "b").endswith("done")
        env = call(tc, "get_env")
        contents = [m.content for m in call(env, "extract_all_history_message", None)]
        assert contents[0] == "hello" and len(contents) == 3
    finally:
        call(tc, "close")
        for x in (tc, a, b):
            ray.kill(x, no_restart=True)


def test_actor_options_reach_ray_and_bad_ones_are_config_errors():
    import ray

    prefix = f"ao{uuid.uuid4().hex[:6]}"
    node = ray.get_runtime_context().get_node_id()
    agent = create_component(
        EchoAgent, name="placed", remote=True, prefix_name=prefix, llm=pid_model(0),
        actor_options={"num_cpus": 0.5, "scheduling_strategy": {"node_affinity": {"node_id": node, "soft": False}},
                       "runtime_env": {"env_vars": {"PLACED": "yes"}}},
    )  # fmt: skip
    try:
        assert ray.get(agent.__ray_call__.remote(lambda self: os.environ.get("PLACED"))) == "yes"
        assert ray.get(agent.__ray_call__.remote(lambda self: ray.get_runtime_context().get_node_id())) == node
    finally:
        ray.kill(agent, no_restart=True)
    for bad, needle in [
        ({"name": "x"}, "name"),
        ({"no_such_option": 1}, "no_such_option"),
        ({"scheduling_strategy": {"node_affinity": {}}}, "node_id"),
        ({"scheduling_strategy": "NEAREST"}, "scheduling_strategy"),
        ("fast", "mapping"),
    ]:
        with pytest.raises(ConfigError, match=needle):
            create_component(EchoAgent, name="bad", remote=True, prefix_name=prefix, llm=pid_model(0),
                             actor_options=bad)  # fmt: skip


def test_restart_counts_are_unlimited_by_default():
    from msagent.runtime.component import actor_options_for

    for cls in (Environment, AgentRegistry, TaskCenter, EchoAgent):
        opts = actor_options_for(cls, "x")
        assert opts["max_restarts"] == -1 and opts["max_task_retries"] == -1, cls
    assert actor_options_for(EchoAgent, "x", actor_options={"max_restarts": 2})["max_restarts"] == 2
    time.sleep(0)


@pytest.mark.parametrize("shards", [1, 2])
def test_a_pool_killed_mid_round_comes_back_and_its_round_is_finished_once(shards):
    import hashlib

    import ray

    from environment.routing import shard_of
    from msagent.agents.env_mixin import default_env_prompt
    from msagent.runtime.pool import PoolTaskCenter, create_pool
    from msagent.runtime.testing_agents import DigestAgent

    # with 2 shards the restarted pool finds the sharded environment again (its roles span both
    # shards), and both shards are killed with it: they come back from their own logs
    names = ("p", "q", "r")
    if shards > 1:
        names = ("p", "q", next(c for c in "rstuvwxyz" if shard_of(c, shards) != shard_of("p", shards)))
    assert len({shard_of(r, shards) for r in names}) == shards
    prefix = f"pl{uuid.uuid4().hex[:6]}"
    tc = PoolTaskCenter(remote=True, prefix_name=prefix, restart_timeout_s=90, env_shards=shards)
    agents = create_pool(
        DigestAgent, [{"name": n, "chunk_delay_s": 0.05, "words": 6} for n in names],
        remote=True, prefix_name=prefix, concurrency=3,
    )  # fmt: skip
    pool = agents[0].pool
    try:
        tc.add_agents(agents)
        pid = ray.get(pool.__ray_call__.remote(lambda self: os.getpid()))
        shard_pids = [call(h, "info")["pid"] for h in tc.env.shard_handles()] if shards > 1 else []
        frames = []
        for frame in tc.step(task="start"):
            frames.append(frame)
            if len(frames) == 4:
                for victim in (pid, *shard_pids):
                    os.kill(victim, signal.SIGKILL)
        assert all(RETRY_NOTICE in spoken(frames, r) for r in names)
        frames += list(tc.step())  # a second round: every agent heard the two others
        assert tc.get_lost_agents() == {}
        if shards > 1:
            assert not {call(h, "info")["pid"] for h in tc.env.shard_handles()} & set(shard_pids)
        turns = call(tc.env, "get_conversations", list(names))
        for role, mine in turns.items():
            assert len(mine) == 2, role  # one reply a round, none doubled
            past: list[str] = []
            for turn in mine:  # replies made from the whole history: it came back with the pool
                prompt = default_env_prompt(turn.received)
                digest = hashlib.sha1("\x1e".join([*past, prompt]).encode()).hexdigest()[:10]
                assert f"[{digest}]" in turn.reply.content, (role, turn.reply.content)
                past += [prompt, turn.reply.content]
            assert spoken(frames, role).split(RETRY_NOTICE)[-1].endswith(mine[-1].reply.content)
    finally:
        tc.close()
