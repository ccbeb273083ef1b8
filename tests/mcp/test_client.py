"""Agents use the tools of MCP servers (the SDK's demo server over stdio and streamable HTTP)."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import pytest
from mcp_helpers import pid_alive, stdio_server, wait_gone

from msagent.agents import RolePlay
from msagent.errors import ConfigError, MCPServerError
from msagent.llm.fake import FunctionModel, ScriptedModel, ScriptedTurn
from msagent.schemas import Message, ToolSpec
from msagent.tools import call_tool, function_tool
from msagent.tools.mcp import MCPToolset


def calls(*pairs: tuple[str, dict]) -> ScriptedTurn:
    return ScriptedTurn(tool_calls=[{"name": n, "arguments": a} for n, a in pairs])


def tool_messages(agent: RolePlay) -> list[Message]:
    return [m for m in agent.last_run.messages if m.role == "tool"]


def test_agent_calls_tools_of_a_stdio_and_an_http_server(http_demo, tmp_path):
    """One turn's calls (two servers, four calls) run at once; results come back in the calls' order."""
    seen_tools: list[list[ToolSpec]] = []

    def model(messages: list[Message], tools: list[ToolSpec]) -> ScriptedTurn | str:
        seen_tools.append(tools)
        if messages[-1].role == "tool":
            return "results: " + " | ".join(m.content for m in messages if m.role == "tool")
        # the two rendezvous calls meet only if the turn's calls run at once (over one session)
        return calls(("files-add", {"a": 2, "b": 3}), ("remote-echo", {"text": "hi"}),
                     ("files-rendezvous", {"me": "a", "peer": "b", "wait_s": 10}),
                     ("files-rendezvous", {"me": "b", "peer": "a", "wait_s": 10}))

    config = {"mcpServers": {"files": stdio_server(DEMO_PID_FILE=str(tmp_path / "pid")),
                             "remote": {"url": http_demo, "headers": {"X-Test": "1"}}}}
    bot = RolePlay(function_list=[config, "calculator"], llm=FunctionModel(model))
    try:
        text = "".join(bot.run("add and echo"))
        assert "results: 5 | remote:hi | a: met b | b: met a" in text
        names = {t.name for t in seen_tools[0]}
        assert {"files-add", "files-echo", "remote-add", "remote-echo", "calculator"} <= names
        add = next(t for t in seen_tools[0] if t.name == "files-add")
        assert add.parameters["required"] == ["a", "b"]
        assert add.parameters["properties"]["a"]["type"] == "integer"
        assert add.description == "Add two integers."
        assert [m.name for m in tool_messages(bot)] == ["files-add", "remote-echo", "files-rendezvous", "files-rendezvous"]
        assert bot.function_map["files-add"]._caller.starts == 1  # type: ignore[attr-defined]
        server_pid = int((tmp_path / "pid").read_text())
        assert pid_alive(server_pid)
    finally:
        bot.close()
    assert wait_gone(server_pid), "the stdio server outlived the agent's close()"


def test_two_calls_are_in_flight_at_once_over_one_session():
    toolset = MCPToolset({"mcpServers": {"demo": stdio_server()}})
    tools = {t.name: t for t in toolset.tools}
    out: dict[str, str] = {}

    def run(me: str, peer: str) -> None:
        out[me] = call_tool(tools, ("demo-rendezvous", {"me": me, "peer": peer, "wait_s": 10}))

    threads = [threading.Thread(target=run, args=pair) for pair in (("a", "b"), ("b", "a"))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert out == {"a": "a: met b", "b": "b: met a"}
        assert toolset.connections["demo"].starts == 1
    finally:
        for tool in toolset.tools:
            tool.close()
    assert toolset.closed


def test_session_is_reused_across_turns_and_restarted_after_a_crash(tmp_path):
    model = ScriptedModel([
        calls(("demo-pid", {})), "first",
        calls(("demo-pid", {})), "second",
        calls(("demo-crash", {})), "crashed",
        calls(("demo-pid", {})), "third",
    ])  # fmt: skip
    bot = RolePlay(function_list=[{"mcpServers": {"demo": stdio_server()}}], llm=model)
    conn = bot.function_map["demo-pid"]._caller  # type: ignore[attr-defined]
    try:
        "".join(bot.run("pid?"))
        first = tool_messages(bot)[0].content
        "".join(bot.run("pid again?"))
        assert tool_messages(bot)[0].content == first  # the same server process: the session was reused
        assert conn.starts == 1
        "".join(bot.run("crash"))
        observation = tool_messages(bot)[0].content
        assert observation.startswith("Error: ") and "MCP server 'demo'" in observation
        assert "started again for the next call" in observation
        assert wait_gone(int(first))
        "".join(bot.run("pid after the crash?"))
        after = tool_messages(bot)[0].content
        assert after.isdigit() and after != first and pid_alive(int(after))
        assert conn.starts == 2
    finally:
        bot.close()


def test_results_become_observations():
    toolset = MCPToolset({"mcpServers": {"demo": stdio_server()}})
    tools = {t.name: t for t in toolset.tools}
    try:
        image = call_tool(tools, ("demo-picture", "{}"))
        assert image.startswith("![image](") and image.endswith(".png)")
        assert Path(image[len("![image]("):-1]).read_bytes().startswith(b"\x89PNG")
        assert call_tool(tools, ("demo-document", "{}")) == "[resource memo://notes/1]\nremember the milk"
        failed = call_tool(tools, ("demo-fail", '{"why": "disk full"}'))
        assert failed == "Error: tool 'demo-fail' failed: Error executing tool fail: disk full"
        bad = call_tool(tools, ("demo-add", '{"a": "two"}'))
        assert bad.startswith("Error: ") and "missing required field 'b'" in bad and "'a' must be integer" in bad
    finally:
        toolset.close()


def test_a_call_past_its_timeout_is_an_observation_and_the_session_goes_on():
    toolset = MCPToolset({"mcpServers": {"demo": {**stdio_server(), "timeout": 1}}})
    tools = {t.name: t for t in toolset.tools}
    try:
        slow = call_tool(tools, ("demo-rendezvous", {"me": "x", "peer": "nobody", "wait_s": 3}))
        assert slow == "Error: MCP server 'demo': tool 'rendezvous' did not finish within 1 s (the call was cancelled)"
        assert call_tool(tools, ("demo-add", {"a": 1, "b": 1})) == "2"
        assert toolset.connections["demo"].starts == 1  # the session outlived the cancelled call
    finally:
        toolset.close()


def test_a_scenario_file_gives_agents_mcp_tools(tmp_path):
    from msagent.runtime.job import run_scenario

    notes = tmp_path / "notes.txt"
    server = stdio_server(DEMO_PID_FILE=str(tmp_path / "pid"))
    scenario = tmp_path / "mcp.yaml"
    import yaml

    scenario.write_text(yaml.safe_dump({
        "name": "mcp", "rounds": 1, "remote": False,
        "task": {"content": "write it down", "send_to": "scribe"},
        "agents": [{
            "role": "scribe",
            "tools": [{"mcpServers": {"notes": server}}],
            "llm": {"model_server": "scripted", "replies": [
                {"tool_calls": [{"name": "notes-write_note", "arguments": {"path": str(notes), "text": "noted"}}]},
                "done",
            ]},
        }],
    }))  # fmt: skip
    result = run_scenario(scenario, transcript=tmp_path / "t.jsonl")
    assert notes.read_text() == "noted\n"
    assert [m["content"] for m in result.messages if m["from"] == "scribe"] == ["done"]
    assert wait_gone(int((tmp_path / "pid").read_text()))  # the run closed its agents' MCP sessions


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("servers", "expected"),
    [
        ({"broken": {"args": ["x.py"]}}, "MCP server 'broken': give 'command'"),
        ({"both": {"command": "python", "url": "http://127.0.0.1:1/mcp"}}, "MCP server 'both': give either"),
        ({"typo": {"comand": "python"}}, "MCP server 'typo': unknown key 'comand'"),
        ({"web": {"url": "ftp://host/mcp"}}, "MCP server 'web': 'url'"),
        ({"bad name!": {"command": "python"}}, "MCP server name 'bad name!' is invalid"),
        ({}, "'mcpServers' must map server names"),
    ],
)
def test_bad_configs_name_the_server(servers, expected):
    with pytest.raises(ConfigError) as info:
        RolePlay(function_list=[{"mcpServers": servers}], llm=ScriptedModel(["x"]))
    assert expected in str(info.value)


def test_unreachable_servers_name_the_server():
    from msagent.ports import free_port

    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(MCPServerError, match=r"MCP server 'gone' \(http://127\.0\.0\.1:\d+/mcp\) could not be reached"):
        MCPToolset({"mcpServers": {"gone": {"url": url, "connect_timeout": 10}}})
    with pytest.raises(MCPServerError, match="MCP server 'nope' .*could not be started"):
        MCPToolset({"mcpServers": {"nope": {"command": "/nonexistent/mcp-server"}}})
    with pytest.raises(MCPServerError, match="MCP server 'mute' .*did not answer within 2 s"):
        MCPToolset({"mcpServers": {"mute": {"command": "sleep", "args": ["30"], "connect_timeout": 2}}})
    err = MCPServerError("MCP server 'x' could not be started", server="x")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is MCPServerError and again.details == {"server": "x"}


def test_tool_name_clash_between_servers_names_both():
    servers = {"a": stdio_server(DEMO_EXTRA_TOOL="b-echo"), "a-b": stdio_server()}
    with pytest.raises(ConfigError, match="MCP servers 'a' and 'a-b' both offer a tool named 'a-b-echo'"):
        RolePlay(function_list=[{"mcpServers": servers}], llm=ScriptedModel(["x"]))

    @function_tool(name="demo-add")
    def add(a: int, b: int) -> int:
        """A local tool whose name an MCP tool would take."""
        return a + b

    with pytest.raises(ConfigError, match="MCP tool names demo-add clash with tools listed before them"):
        RolePlay(function_list=[add(), {"mcpServers": {"demo": stdio_server()}}], llm=ScriptedModel(["x"]))
