"""The tool manager is an MCP server: the SDK's own client (and an msagent agent) against its /mcp."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from conftest import TOKEN
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from msagent.agents import RolePlay
from msagent.llm.fake import ScriptedModel, ScriptedTurn

TENANT = "mcpclient"


def sdk_client(url: str, token: str | None = TOKEN, tenant: str = TENANT) -> Client:
    headers = {"X-Tenant-Id": tenant}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return Client(streamable_http_client(f"{url}/mcp", http_client=create_mcp_http_client(headers=headers)))


def test_sdk_client_lists_and_calls_the_tenants_tools(mcp_manager_url):
    async def session() -> None:
        async with sdk_client(mcp_manager_url) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            assert {"calculator", "code_interpreter", "current_time"} <= set(listed)
            assert listed["calculator"].input_schema["required"] == ["expression"]
            result = await client.call_tool("calculator", {"expression": "2**10"})
            assert not result.is_error and result.content[0].text == "1024"
            bad = await client.call_tool("calculator", {"expr": "1"})
            assert bad.is_error and "missing required field 'expression'" in bad.content[0].text
            unknown = await client.call_tool("no_such_tool", {})
            assert unknown.is_error and "unknown tool 'no_such_tool'" in unknown.content[0].text

    asyncio.run(session())
    with httpx.Client(base_url=mcp_manager_url, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        nodes = c.get("/tools", params={"tenant_id": TENANT}).json()["output"]["tools"]
    assert any(status == "running" for status in nodes.values()), nodes  # the call ran in the tenant's node


@pytest.mark.parametrize(("token", "status"), [("wrong-token", 403), (None, 401)])
def test_wrong_or_missing_token_is_refused(mcp_manager_url, token, status):
    async def session() -> None:
        async with sdk_client(mcp_manager_url, token=token) as client:
            await client.list_tools()

    with pytest.raises(BaseException) as info:  # the SDK answers a refused request with MCPError
        asyncio.run(session())
    assert "MCPError" in repr(info.value)
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    r = httpx.post(f"{mcp_manager_url}/mcp", json=body, headers=headers)
    assert r.status_code == status
    assert ("wrong token" if token else "missing Authorization header") in r.json()["message"]


def test_bad_tenant_is_a_400(mcp_manager_url):
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, text/event-stream"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    r = httpx.post(f"{mcp_manager_url}/mcp", params={"tenant_id": "../etc"}, json=body, headers=headers)
    assert r.status_code == 400 and "invalid tenant" in r.json()["message"]


def test_an_msagent_agent_uses_the_manager_as_an_mcp_server(mcp_manager_url):
    config = {"mcpServers": {"sandbox": {"url": f"{mcp_manager_url}/mcp?tenant_id={TENANT}",
                                         "headers": {"Authorization": f"Bearer {TOKEN}"}}}}
    model = ScriptedModel([
        ScriptedTurn(tool_calls=[{"name": "sandbox-calculator", "arguments": {"expression": "6*7"}}]), "done",
    ])  # fmt: skip
    bot = RolePlay(function_list=[config], llm=model)
    try:
        assert "".join(bot.run("six times seven")).endswith("done")
        assert [m.content for m in bot.last_run.messages if m.role == "tool"] == ["42"]
    finally:
        bot.close()


def test_an_agent_with_a_wrong_token_gets_a_clear_error(mcp_manager_url):
    from msagent.errors import MCPServerError

    config = {"mcpServers": {"sandbox": {"url": f"{mcp_manager_url}/mcp", "headers": {"Authorization": "Bearer no"}}}}
    with pytest.raises(MCPServerError, match=r"MCP server 'sandbox' .* could not be reached: HTTP 403 .*wrong token"):
        RolePlay(function_list=[config], llm=ScriptedModel(["x"]))
