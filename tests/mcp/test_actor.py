"""An agent with MCP tools as a Ray actor: the session lives inside the actor and ends with it."""

from __future__ import annotations

import sys

import ray.cloudpickle
from mcp_helpers import pid_alive, stdio_server, wait_gone

from msagent.agents import RolePlay
from msagent.llm.fake import FunctionModel, ScriptedTurn
from msagent.runtime import create_component
from msagent.runtime.calls import call
from msagent.schemas import Message, ToolSpec
from task_center import TaskCenter

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the model's function travels by value


def two_calls_then_report(messages: list[Message], tools: list[ToolSpec]) -> ScriptedTurn | str:
    if messages[-1].role == "tool":
        return "results: " + " | ".join(m.content for m in messages if m.role == "tool")
    meet = [{"name": "demo-rendezvous", "arguments": {"me": me, "peer": peer, "wait_s": 10}}
            for me, peer in (("a", "b"), ("b", "a"))]  # they meet only if the calls run at once
    return ScriptedTurn(tool_calls=[{"name": "demo-add", "arguments": {"a": 20, "b": 22}},
                                    {"name": "demo-pid", "arguments": {}}, *meet])


def test_actor_agent_calls_mcp_tools_and_closes_the_session_with_it(ray_cluster, tmp_path):
    import ray

    pid_file = tmp_path / "pid"
    tc = TaskCenter(remote=True, prefix_name="mcpactor")
    agent = create_component(
        RolePlay, name="worker", remote=True, prefix_name="mcpactor", llm=FunctionModel(two_calls_then_report),
        function_list=[{"mcpServers": {"demo": stdio_server(DEMO_PID_FILE=str(pid_file))}}],
    )  # fmt: skip
    try:
        tc.add_agents([agent])
        for task in ("first", "second"):
            frames = list(tc.step(task=task, send_to="worker"))
            assert frames and all(f.startswith("worker: ") for f in frames)
        history = call(tc.get_env(), "extract_all_history_message", None)
        replies = [m.content for m in history if m.sent_from == "worker"]
        server_pid = int(pid_file.read_text())
        assert replies == [f"results: 42 | {server_pid} | a: met b | b: met a"] * 2  # one session, reused
        actor_pid = ray.get(agent.__ray_call__.remote(lambda self: __import__("os").getpid()))
        assert actor_pid != server_pid and pid_alive(server_pid)
    finally:
        tc.close()
        ray.kill(agent, no_restart=True)
    assert wait_gone(server_pid, timeout=20), "the MCP server outlived its actor"
