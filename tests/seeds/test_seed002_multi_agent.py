"""Seed 002 (ModelScope-Agent's multi-agent mode) with tools: agents are Ray actors stepped by a Task
Center; an agent that uses a tool streams its trace (Action / Observation / Answer) to whoever
drives the round, and publishes only its answer to the Environment, so the next agent reads the
answer and not the tool work. The model is a fake OpenAI server over real HTTP."""

from __future__ import annotations

import secrets
from typing import Any

from msagent.testing import FakeOpenAIServer, FakeReply


def _model(body: dict[str, Any]) -> FakeReply:
    system, last = body["messages"][0]["content"], body["messages"][-1]
    if "You are alice." in system:
        if last["role"] == "tool":
            return FakeReply(text="It is 42.")
        return FakeReply(tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}])
    return FakeReply(text="Thanks, alice.")


def test_tool_using_agents_on_ray_publish_their_answers(ray_cluster: None) -> None:
    import ray

    from msagent import create_component
    from msagent.agents import RolePlay
    from msagent.runtime.calls import call
    from task_center import TaskCenter

    prefix = "seed002" + secrets.token_hex(3)
    with FakeOpenAIServer(handler=_model) as server:
        llm = {"model": "fake-model", "model_server": "openai", "api_base": server.base_url, "api_key": "sk-x"}
        task_center = create_component(TaskCenter, name="task_center", remote=True, prefix_name=prefix)
        alice = create_component(RolePlay, name="alice", remote=True, prefix_name=prefix, llm=llm,
                                 function_list=["calculator"], instruction="Use the calculator.")  # fmt: skip
        bob = create_component(RolePlay, name="bob", remote=True, prefix_name=prefix, llm=llm, instruction="Be kind.")
        try:
            ray.get(task_center.add_agents.remote([alice, bob]))
            ray.get(task_center.send_task_request.remote("What is 6*7? Then tell bob.", send_to="alice"))
            frames = [ray.get(f) for f in task_center.step.remote()]
            said = "".join(f.removeprefix("alice: ") for f in frames)
            assert said == ('Action: calculator\nAction Input: {"expression": "6*7"}\n'
                            "Observation: <result>42</result>\nAnswer: It is 42.")  # fmt: skip
            frames = [ray.get(f) for f in task_center.step.remote()]
            assert "".join(f.removeprefix("bob: ") for f in frames) == "Thanks, alice."
            bob_saw = server.requests[-1]["messages"][-1]["content"]
            assert "alice: It is 42." in bob_saw and "Action:" not in bob_saw and "Observation" not in bob_saw
            env = ray.get(task_center.get_env.remote())
            history = [(m.sent_from, m.content) for m in call(env, "extract_all_history_message", None)]
            assert ("alice", "It is 42.") in history and ("bob", "Thanks, alice.") in history
        finally:
            ray.get(task_center.close.remote())
            for actor in (task_center, alice, bob):
                ray.kill(actor, no_restart=True)
