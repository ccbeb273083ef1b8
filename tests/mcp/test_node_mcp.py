"""MCP servers in hardened tool nodes: use_tool_api=True with an mcpServers entry runs the stdio
server in a node's container (through the tool manager) instead of on the host."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path

import httpx
import pytest
from conftest import TOKEN
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from msagent.agents import RolePlay
from msagent.errors import MCPServerError
from msagent.llm.fake import ScriptedModel, ScriptedTurn

TENANT = "mcpnode"
IN_NODE = {"command": "python3", "args": ["-m", "msagent.testing.mcp_demo_server"]}  # as the image has it


def calls(*pairs: tuple[str, dict]) -> ScriptedTurn:
    return ScriptedTurn(tool_calls=[{"name": n, "arguments": a} for n, a in pairs])


def tool_api(url: str) -> dict:
    return {"url": url, "token": TOKEN, "start_timeout": 120}


def test_stdio_server_runs_in_a_tool_node(mcp_manager_url):
    model = ScriptedModel([
        calls(("boxed-add", {"a": 2, "b": 3}), ("boxed-whoami", {}), ("boxed-picture", {})), "first",
        calls(("boxed-crash", {})), "crashed",
        calls(("boxed-add", {"a": 1})), calls(("boxed-echo", {"text": "back"})), "after",
    ])  # fmt: skip
    bot = RolePlay(function_list=[{"mcpServers": {"boxed": IN_NODE}}], llm=model, use_tool_api=True,
                   tenant_id=TENANT, tool_api=tool_api(mcp_manager_url))
    try:
        assert bot.function_map["boxed-add"].spec.parameters["required"] == ["a", "b"]
        "".join(bot.run("add, who, picture"))
        add, who, picture = [m.content for m in bot.last_run.messages if m.role == "tool"]
        assert add == "5"
        assert who.startswith("uid=10001 ") and who != f"uid={os.getuid()} host={socket.gethostname()}"
        path = Path(picture.removeprefix("![image](").removesuffix(")"))
        assert path.is_file() and path.read_bytes().startswith(b"\x89PNG")  # saved on this side
        "".join(bot.run("crash"))
        crashed = [m.content for m in bot.last_run.messages if m.role == "tool"][0]
        assert crashed.startswith("Error: ") and "MCP server 'boxed'" in crashed
        "".join(bot.run("again"))
        bad, echo = [m.content for m in bot.last_run.messages if m.role == "tool"]
        assert bad.startswith("Error: ") and "missing required field 'b'" in bad
        assert echo == "back"  # the server was started again inside the node
    finally:
        bot.close()
    with httpx.Client(base_url=mcp_manager_url, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        nodes = c.get("/tools", params={"tenant_id": TENANT}).json()["output"]["tools"]
    assert [status for name, status in nodes.items() if name.startswith("mcp.boxed")] == ["running"], nodes
    asyncio.run(through_manager_mcp(mcp_manager_url))


async def through_manager_mcp(url: str) -> None:
    """The manager's /mcp offers the node's MCP tools too, their results passed through unchanged."""
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Tenant-Id": TENANT}
    async with Client(streamable_http_client(f"{url}/mcp", http_client=create_mcp_http_client(headers=headers))) as c:
        listed = {t.name: t for t in (await c.list_tools()).tools}
        assert {"boxed-add", "boxed-picture", "calculator"} <= set(listed)
        assert listed["boxed-add"].input_schema["required"] == ["a", "b"]
        added = await c.call_tool("boxed-add", {"a": 40, "b": 2})
        assert added.content[0].text == "42" and not added.is_error
        picture = await c.call_tool("boxed-picture", {})
        assert picture.content[0].type == "image" and picture.content[0].mime_type == "image/png"


def test_bad_servers_in_nodes_name_the_server(mcp_manager_url):
    missing = {"command": "/nonexistent/server"}
    with pytest.raises(MCPServerError, match="MCP server 'ghost' .*in a tool node could not be started"):
        RolePlay(function_list=[{"mcpServers": {"ghost": missing}}], llm=ScriptedModel(["x"]), use_tool_api=True,
                 tenant_id=TENANT, tool_api=tool_api(mcp_manager_url))
    limits = {**IN_NODE, "node": {"memory": "lots"}}
    with pytest.raises(MCPServerError, match=r"MCP server 'greedy' .*tool_cfg.memory"):
        RolePlay(function_list=[{"mcpServers": {"greedy": limits}}], llm=ScriptedModel(["x"]), use_tool_api=True,
                 tenant_id=TENANT, tool_api=tool_api(mcp_manager_url))
    with httpx.Client(base_url=mcp_manager_url, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        r = c.post("/create_tool_service", json={"tool_name": "mcp.web", "tenant_id": TENANT,
                                                 "tool_cfg": {"mcp": {"url": "http://127.0.0.1:1/mcp"}}})
    assert r.status_code == 400 and "a tool node runs stdio servers" in r.json()["message"], json.dumps(r.json())
