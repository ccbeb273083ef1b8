"""create_component: one switch between plain objects and named actors; the seed's usage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from environment import Environment
from msagent import create_component
from msagent.llm import ScriptedModel, ScriptedTurn
from msagent.runtime import ComponentId, call, get_component
from msagent.runtime.testing_agents import EchoAgent
from registry import AgentRegistry
from task_center import TaskCenter


def test_local_component_is_a_plain_object_and_role_defaults_to_name():
    agent = create_component(EchoAgent, name="alice", llm=ScriptedModel(["hi"]), instruction="be kind")
    assert isinstance(agent, EchoAgent) and agent.role == "alice" and agent.name == "alice"
    assert create_component(EchoAgent, name="x", role="bob", llm=ScriptedModel(["hi"])).role == "bob"
    assert isinstance(create_component(Environment, name="env", durable=False), Environment)


def test_actor_names_come_from_component_ids():
    assert ComponentId("alice", "p").actor_name == "p_alice"
    assert ComponentId("alice").actor_name == "alice"
    assert ComponentId("env", "p").child("agent_center").actor_name == "p_agent_center"


def test_named_actor_is_reused_and_replaced_on_request(ray_cluster):
    import ray

    first = create_component(AgentRegistry, name="reg", remote=True, prefix_name="reuse")
    call(first, "register_agent", "a", "handle-a")
    same = create_component(AgentRegistry, name="reg", remote=True, prefix_name="reuse")
    assert call(same, "get_roles") == ["a"]
    assert get_component("reg", prefix_name="reuse")._actor_id == first._actor_id
    fresh = create_component(AgentRegistry, name="reg", remote=True, prefix_name="reuse", force_new=True)
    assert fresh._actor_id != first._actor_id and call(fresh, "get_roles") == []
    ray.kill(fresh)


def test_seed_usage_on_ray(ray_cluster):
    import ray

    llm = {"model": "scripted", "model_server": "scripted", "replies": ["sunny and warm"], "cycle": True}
    task_center = create_component(TaskCenter, name="task_center", remote=True, prefix_name="seed")
    role_play1 = create_component(EchoAgent, name="role_play1", remote=True, prefix_name="seed", llm=llm)
    role_play2 = create_component(
        EchoAgent, name="role_play2", remote=True, prefix_name="seed",
        llm={**llm, "replies": [ScriptedTurn(text="thanks").model_dump()]},
    )  # fmt: skip
    assert ray.get(role_play1.get_role.remote()) == "role_play1"
    ray.get(task_center.add_agents.remote([role_play1, role_play2]))
    ray.get(task_center.send_task_request.remote("what is the weather?", send_to="role_play1"))
    frames = [ray.get(frame) for frame in task_center.step.remote()]
    assert frames == ["role_play1: sunny", "role_play1:  and", "role_play1:  warm"]
    frames = [ray.get(frame) for frame in task_center.step.remote()]
    assert frames == ["role_play2: thanks"]
    assert ray.get(task_center.get_roles.remote()) == ["role_play1", "role_play2"]
    # the center's environment and registry are named actors under the same prefix
    env = get_component("env", prefix_name="seed")
    assert [m.content for m in call(env, "extract_all_history_message", None)][-1] == "thanks"
    ray.get(task_center.close.remote())
    ray.kill(task_center)


def test_seed_usage_locally():
    task_center = create_component(TaskCenter, name="task_center")
    a = create_component(EchoAgent, name="a", llm=ScriptedModel(["hello b"]))
    b = create_component(EchoAgent, name="b", llm=ScriptedModel(["hello a"]))
    task_center.add_agents([a, b])
    task_center.send_task_request("greet", send_to="a")
    assert [f for f in task_center.step()] == ["a: hello", "a:  b"]
    assert [f for f in task_center.step()] == ["b: hello", "b:  a"]


def test_create_component_needs_a_class():
    from msagent.errors import ConfigError

    with pytest.raises(ConfigError):
        create_component(EchoAgent(name="x", llm=ScriptedModel(["x"])), name="x")  # type: ignore[arg-type]


def test_local_mode_never_starts_ray():
    code = (
        "import sys\n"
        "from msagent import create_component\n"
        "from msagent.runtime.testing_agents import EchoAgent\n"
        "from task_center import TaskCenter\n"
        "tc = create_component(TaskCenter, name='tc', durable=False)\n"
        "a = create_component(EchoAgent, name='a', llm={'model_server': 'scripted', 'replies': ['hi']})\n"
        "tc.add_agents([a]); frames = list(tc.step(task='go'))\n"
        "ray = sys.modules.get('ray')\n"
        "print(frames, ray is not None and ray.is_initialized())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['a: hi'] False"


def test_runtime_classes_are_reexported_from_msagent():
    import msagent

    assert msagent.create_component is create_component
    assert msagent.TaskCenter is TaskCenter
    assert msagent.Environment is Environment
    assert msagent.AgentRegistry is AgentRegistry


def test_environments_keep_their_own_state():
    one, two = Environment(durable=False), Environment(durable=False)
    one.register_roles(["a", "b"])
    one.store_message_from_role("a", "only in one")
    assert two.get_roles() == [] and two.extract_all_history_message(None) == []
    two.register_roles(["a", "b"])
    assert two.read_mail("b") == [] and [d.message.content for d in one.read_mail("b")] == ["only in one"]


def test_role_play_actor_from_create_component(ray_cluster):
    import ray

    from msagent.agents import RolePlay

    tc = TaskCenter(remote=True, prefix_name="rp")
    alice = create_component(
        RolePlay, name="alice", remote=True, prefix_name="rp",
        llm={"model_server": "scripted", "replies": ["hello from alice"], "cycle": True},
        instruction="You are friendly.",
    )  # fmt: skip
    try:
        assert ray.get(alice.get_role.remote()) == "alice"
        assert get_component("alice", prefix_name="rp")._actor_id == alice._actor_id
        assert tc.add_agents([alice]) == ["alice"]
        frames = list(tc.step(task="say hello"))
        assert "".join(f.removeprefix("alice: ") for f in frames) == "hello from alice"
        assert all(f.startswith("alice: ") for f in frames)
        history = call(tc.get_env(), "extract_all_history_message", None)
        assert [(m.sent_from, m.content) for m in history][-1] == ("alice", "hello from alice")
    finally:
        tc.close()
        ray.kill(alice, no_restart=True)


def test_static_and_class_generator_methods_work_in_an_actor(ray_cluster):
    import ray

    class Counter:  # a user's class (defined here: pickled by value), generators of all three kinds
        def __init__(self, start: int = 0) -> None:
            self.start = start

        @staticmethod
        def upto(n: int):
            yield from range(n)

        @classmethod
        def twice(cls, n: int):
            for i in range(n):
                yield 2 * i

        def count(self, n: int):
            for i in range(n):
                yield self.start + i

        def all_three(self, n: int) -> list[list[int]]:
            return [list(self.upto(n)), list(self.twice(n)), list(self.count(n))]

    actor = create_component(Counter, name="counter", remote=True, prefix_name="static_gen", start=5)
    try:
        assert call(actor, "all_three", 3) == [[0, 1, 2], [0, 2, 4], [5, 6, 7]]
        assert [ray.get(r) for r in actor.count.remote(2)] == [5, 6]
    finally:
        ray.kill(actor)
