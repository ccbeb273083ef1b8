"""End to end through Ray Serve: create -> status -> info -> execute -> remove, the proxy, tenancy,
the token, a container killed from outside, and the hardening seen by `docker inspect`."""

from __future__ import annotations

from typing import Any

import pytest
from tool_service_helpers import SESSION, client_for

from msagent.tools import call_tool

pytestmark = [pytest.mark.docker, pytest.mark.ray]


def _create(c: Any, tool: str, tenant: str, **extra: Any) -> dict:
    r = c.post("/create_tool_service", json={"tool_name": tool, "tenant_id": tenant, **extra})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"request_id", "message", "output"}
    assert body["output"]["tool_node_name"] == f"{tool}_{tenant}"
    status = c.post("/check_tool_service_status", json={"tool_name": tool, "tenant_id": tenant, "wait": 60}).json()
    assert status["output"]["status"] == "running", status
    return status["output"]


def test_create_status_info_execute_remove(manager_url: str) -> None:
    tenant = f"{SESSION}e2e"
    with client_for(manager_url) as c:
        _create(c, "code_interpreter", tenant)
        got = c.get("/check_tool_service_status", params={"tool_name": "code_interpreter", "tenant_id": tenant})
        assert got.json()["output"]["status"] == "running"
        info = c.post("/tool_info", json={"tool_name": "code_interpreter", "tenant_id": tenant}).json()["output"]
        assert info["name"] == "code_interpreter" and "code" in info["parameters"]["properties"]
        r = c.post("/execute_tool", json={"tool_name": "code_interpreter", "tenant_id": tenant,
                                          "params": '{"code": "x = 6\\nprint(x*7)"}', "kwargs": {}})
        assert r.status_code == 200 and r.json()["output"] == "42", r.text
        # the kernel is the node's own: state persists between calls
        r = c.post("/execute_tool", json={"tool_name": "code_interpreter", "tenant_id": tenant,
                                          "params": {"code": "x + 1"}})
        assert r.json()["output"] == "7"
        tools = c.get("/tools", params={"tenant_id": tenant}).json()["output"]["tools"]
        assert tools == {f"code_interpreter_{tenant}": "running"}
        r = c.post("/remove_tool", json={"tool_name": "code_interpreter", "tenant_id": tenant})
        assert r.json()["output"] == {"tool_node_name": f"code_interpreter_{tenant}", "status": "exited"}
        assert c.get("/tools", params={"tenant_id": tenant}).json()["output"]["tools"] == {}
        assert c.post("/tool_info", json={"tool_name": "code_interpreter", "tenant_id": tenant}).status_code == 404


def test_tenant_isolation(manager_url: str) -> None:
    a, b = f"{SESSION}ta", f"{SESSION}tb"
    with client_for(manager_url) as c:
        _create(c, "calculator", a)
        key_b = {"tool_name": "calculator", "tenant_id": b}
        assert c.get("/tools", params={"tenant_id": b}).json()["output"]["tools"] == {}
        for path, body in [("/tool_info", key_b), ("/check_tool_service_status", key_b),
                           ("/execute_tool", {**key_b, "params": '{"expression": "1+1"}'}), ("/remove_tool", key_b)]:
            r = c.post(path, json=body)
            assert r.status_code == 404, (path, r.text)
            assert "tenant" in r.json()["message"]
        r = c.post("/execute_tool", json={"tool_name": "calculator", "tenant_id": a, "params": '{"expression": "6*7"}'})
        assert r.json()["output"] == "42"
        c.post("/remove_tool", json={"tool_name": "calculator", "tenant_id": a})


def test_token_required(manager_url: str) -> None:
    with client_for(manager_url, token=None) as c:
        r = c.get("/tools")
        assert r.status_code == 401 and "Authorization" in r.json()["message"]
    with client_for(manager_url, token="wrong") as c:
        r = c.post("/create_tool_service", json={"tool_name": "calculator"})
        assert r.status_code == 403 and r.json()["message"] == "wrong token"
    with client_for(manager_url, token=None) as c:
        assert c.get("/openapi.json").status_code == 200  # the docs stay readable


def test_proxy_behaves_like_a_local_tool(manager_url: str) -> None:
    from tool_service_helpers import TOKEN

    from msagent.errors import ConfigError
    from msagent.tools.service_proxy import ToolServiceProxy

    with pytest.raises(ConfigError, match="refused the token"):
        ToolServiceProxy("calculator", {}, tenant_id=f"{SESSION}px", url=manager_url, token="wrong")
    proxy = ToolServiceProxy("calculator", {}, tenant_id=f"{SESSION}px", url=manager_url, token=TOKEN)
    try:
        assert proxy.spec.name == "calculator" and "expression" in proxy.spec.parameters["properties"]
        assert call_tool(proxy, ("calculator", '{"expression": "6*7"}')) == "42"
        assert call_tool(proxy, ("calculator", '{"expr": 1}')).startswith("Error: ")
    finally:
        proxy.remove()
        proxy.close()


def test_killed_container_is_detected(manager_url: str, docker_client: Any) -> None:
    tenant = f"{SESSION}kill"
    with client_for(manager_url) as c:
        _create(c, "calculator", tenant)
        docker_client.containers.get(f"msagent-{SESSION}-calculator_{tenant}").kill()  # named under the manager id
        status = c.post("/check_tool_service_status", json={"tool_name": "calculator", "tenant_id": tenant}).json()
        assert status["output"]["status"] == "exited" and "exit code" in status["output"]["message"]
        r = c.post("/execute_tool", json={"tool_name": "calculator", "tenant_id": tenant, "params": '{"expression": "1"}'})
        assert r.status_code == 409 and "exited" in r.json()["message"]
        _create(c, "calculator", tenant)  # creating again replaces the dead node
        c.post("/remove_tool", json={"tool_name": "calculator", "tenant_id": tenant})


def test_containers_are_hardened(manager_url: str, docker_client: Any) -> None:
    tenant = f"{SESSION}hard"
    with client_for(manager_url) as c:
        _create(c, "calculator", tenant, tool_cfg={"memory": "256m", "cpus": 0.5, "pids_limit": 64})
        attrs = docker_client.api.inspect_container(f"msagent-{SESSION}-calculator_{tenant}")
        host = attrs["HostConfig"]
        assert attrs["Config"]["User"] == "10001:10001"
        assert host["Privileged"] is False
        assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
        assert "no-new-privileges:true" in host["SecurityOpt"]
        assert host["ReadonlyRootfs"] is True and "/work" in host["Tmpfs"]
        assert host["Memory"] == 256 * 1024 * 1024 and host["NanoCpus"] == 500_000_000 and host["PidsLimit"] == 64
        net = docker_client.networks.get(host["NetworkMode"])
        assert net.attrs["Internal"] is True  # no route out unless the tool's config asks for it
        labels = attrs["Config"]["Labels"]
        assert labels["msagent.tenant"] == tenant and labels["msagent.tool"] == "calculator"
        c.post("/remove_tool", json={"tool_name": "calculator", "tenant_id": tenant})


def test_agent_with_use_tool_api_runs_its_tools_in_nodes(manager_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's ``RolePlay(..., use_tool_api=True)``: the agent's tool is a node reached through the
    manager (URL and token from TOOL_MANAGER_SERVICE_URL / TOOL_MANAGER_AUTH)."""
    from tool_service_helpers import TOKEN

    from msagent.agents import RolePlay
    from msagent.testing import FakeOpenAIServer, FakeReply
    from msagent.tools.service_proxy import ToolServiceProxy

    tenant = f"{SESSION}agent"
    monkeypatch.setenv("TOOL_MANAGER_SERVICE_URL", manager_url)
    monkeypatch.setenv("TOOL_MANAGER_AUTH", TOKEN)
    replies = [FakeReply(text="", tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}]),
               FakeReply(text="It is 42.")]
    with FakeOpenAIServer(replies=replies) as server:
        llm = {"model": "fake-model", "model_server": "openai", "api_base": server.base_url, "api_key": "sk-x"}
        bot = RolePlay(function_list=["calculator"], llm=llm, use_tool_api=True, tenant_id=tenant)
        try:
            assert isinstance(bot.function_map["calculator"], ToolServiceProxy)
            with client_for(manager_url) as c:  # the node exists before the first call
                tools = c.get("/tools", params={"tenant_id": tenant}).json()["output"]["tools"]
                assert tools == {f"calculator_{tenant}": "running"}
            assert "".join(bot.run("6*7?")).endswith("It is 42.")
            second = list(server.requests)[1]
            assert [m["content"] for m in second["messages"] if m["role"] == "tool"] == ["42"]
        finally:
            bot.close()
    with client_for(manager_url) as c:
        assert c.post("/remove_tool", json={"tool_name": "calculator", "tenant_id": tenant}).status_code == 200
    # without a reachable manager the agent cannot be built: a typed error, not a hang
    monkeypatch.setenv("TOOL_MANAGER_SERVICE_URL", "http://127.0.0.1:9")
    from msagent.errors import RuntimeFailure

    with pytest.raises(RuntimeFailure, match="unreachable"):
        RolePlay(function_list=["calculator"], use_tool_api=True, tenant_id=tenant)


def test_a_dead_node_actor_is_replaced_and_its_container_still_removed(
        ray_cluster: None, tool_image: str, docker_client: Any, tmp_path: Any) -> None:
    import asyncio

    import ray
    from tool_service_helpers import port_range, wait_until

    from deploy.tool_manager.config import ManagerConfig
    from deploy.tool_manager.manager import ToolManager

    def killed(actor: Any) -> None:
        ray.kill(actor, no_restart=True)

        def dead() -> bool:
            try:
                ray.get(actor.state.remote(), timeout=10)
            except ray.exceptions.RayActorError:
                return True
            return False

        wait_until(dead, "the actor dying")  # ray.kill is asynchronous

    start, end = port_range(7)
    tenant = f"{SESSION}actor"
    cfg = ManagerConfig(manager_id=f"{SESSION}actor", default_image=tool_image, port_start=start, port_end=end,
                        pool_size=0, backend="ray", db_path=str(tmp_path / "m.db"))

    async def scenario() -> None:
        m = ToolManager(cfg)
        await m.start()
        try:
            await m.create(tenant, "calculator", {}, None)
            assert (await m.status(tenant, "calculator", 60)).status == "running"
            old = m.nodes[(tenant, "calculator")]
            await asyncio.to_thread(killed, old)
            # the container outlives its actor: a new actor adopts it
            assert (await m.status(tenant, "calculator")).status == "running"
            assert m.nodes[(tenant, "calculator")] is not old
            assert await m.execute(tenant, "calculator", '{"expression": "6*7"}', {}) == "42"
            await asyncio.to_thread(killed, m.nodes[(tenant, "calculator")])
            await m.remove(tenant, "calculator")  # without a live actor, the manager removes the container
            assert m.store.all() == [] and m.store.port_owners() == {}
        finally:
            await m.close()

    asyncio.run(scenario())
    assert not docker_client.containers.list(all=True, sparse=True, filters={"name": f"^calculator_{tenant}$"})
