"""Qwen-Agent's Assistant takes the same {'mcpServers': ...} item in function_list."""

from __future__ import annotations

from mcp_helpers import stdio_server

from msagent.agents import Assistant
from msagent.llm.fake import ScriptedModel, ScriptedTurn


def test_assistant_calls_mcp_tools_in_parallel_in_qwen_agents_shapes():
    meet = [{"name": "demo-rendezvous", "arguments": {"me": me, "peer": peer, "wait_s": 10}}
            for me, peer in (("a", "b"), ("b", "a"))]  # they meet only if the calls run at once
    calls = [{"name": "demo-add", "arguments": {"a": 1, "b": 2}}, {"name": "demo-echo", "arguments": {"text": "hey"}}, *meet]
    model = ScriptedModel([ScriptedTurn(tool_calls=calls), "the sum is 3"])
    bot = Assistant(llm=model, function_list=[{"mcpServers": {"demo": stdio_server()}}])
    try:
        *_, responses = bot.run(messages=[{"role": "user", "content": "add and echo"}])
        results = [(r["name"], r["content"]) for r in responses if r["role"] == "function"]
        assert results == [("demo-add", "3"), ("demo-echo", "hey"), ("demo-rendezvous", "a: met b"),
                           ("demo-rendezvous", "b: met a")]
        assert [r["function_call"]["name"] for r in responses if r.get("function_call")] == [
            "demo-add", "demo-echo", "demo-rendezvous", "demo-rendezvous"]
        assert responses[-1] == {"role": "assistant", "content": "the sum is 3"}
    finally:
        bot.close()
