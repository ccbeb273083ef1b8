"""The manager under plain uvicorn (nodes in-process): bad input, long calls, timeouts, ports
exhausted, Docker down, restart recovery, the idle monitor, the catalogue calls."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tool_service_helpers import (
    SESSION,
    TOKEN,
    LocalManager,
    client_for,
    free_port_block,
    port_range,
    wait_until,
)

from deploy.tool_manager.container import list_containers

pytestmark = pytest.mark.docker


def _running(c: Any, tool: str, tenant: str, **extra: Any) -> None:
    r = c.post("/create_tool_service", json={"tool_name": tool, "tenant_id": tenant, **extra})
    assert r.status_code == 200, r.text
    out = c.post("/check_tool_service_status", json={"tool_name": tool, "tenant_id": tenant, "wait": 60}).json()
    assert out["output"]["status"] == "running", out


def test_bad_input_gets_clear_errors(tool_image: str) -> None:
    start, end = port_range(1)
    tenant = f"{SESSION}bad"
    with LocalManager(manager_id=f"{SESSION}bad", default_image=tool_image, port_start=start, port_end=end) as m, \
            client_for(m.url) as c:
        cases = [
            ({"tool_name": "no_such_tool", "tenant_id": tenant}, 404, "unknown tool"),
            ({"tool_name": "calculator", "tenant_id": tenant, "tool_image": "msagent/nope:1"}, 404, "build-image"),
            ({"tool_name": "calculator", "tenant_id": tenant, "tool_cfg": {"memory": "lots"}}, 400, "tool_cfg.memory"),
            ({"tool_name": "calculator", "tenant_id": tenant, "tool_cfg": "x"}, 400, "tool_cfg"),
            # the tool's own part of tool_cfg is checked before any container starts
            ({"tool_name": "code_interpreter", "tenant_id": tenant,
              "tool_cfg": {"code_interpreter": {"timeout": "soon"}}}, 400, "bad tool_cfg for 'code_interpreter'"),
            ({"tool_name": "bad name!", "tenant_id": tenant}, 400, "tool_name"),
            ({"tenant_id": tenant}, 400, "tool_name"),
        ]
        for body, status, text in cases:
            r = c.post("/create_tool_service", json=body)
            assert r.status_code == status and text in r.json()["message"], (body, r.text)
        assert c.post("/create_tool_service", content=b"{not json", headers={"content-type": "application/json"}
                      ).status_code == 400
        assert c.get("/tools", params={"tenant_id": tenant}).json()["output"]["tools"] == {}  # nothing was started
        # unknown endpoints and wrong methods answer in the envelope too
        r = c.post("/no_such_endpoint", json={})
        assert r.status_code == 404 and r.json()["message"].startswith("no such endpoint") and r.json()["output"] is None
        r = c.get("/execute_tool")
        assert r.status_code == 405 and set(r.json()) == {"request_id", "message", "output"}
        _running(c, "calculator", tenant)
        _running(c, "code_interpreter", tenant, tool_cfg={"timeout": 2})
        call = {"tool_name": "calculator", "tenant_id": tenant}
        r = c.post("/execute_tool", json={**call, "params": "{bad json"})
        assert r.status_code == 400 and "not valid JSON" in r.json()["message"]
        r = c.post("/execute_tool", json={**call, "params": '{"expression": "1/0"}'})
        assert r.status_code == 422 and "calculator" in r.json()["message"]
        r = c.post("/execute_tool", json={"tool_name": "code_interpreter", "tenant_id": tenant,
                                          "params": {"code": "import time; time.sleep(30)"}})
        assert r.status_code == 504 and "timeout of 2 s" in r.json()["message"]
        # the manager kept serving meanwhile, and still does
        assert c.post("/execute_tool", json={**call, "params": '{"expression": "6*7"}'}).json()["output"] == "42"


def test_long_call_answers_202_then_result(tool_image: str, docker_client: Any) -> None:
    start, end = port_range(2)
    tenant = f"{SESSION}long"
    with LocalManager(manager_id=f"{SESSION}long", default_image=tool_image, port_start=start, port_end=end) as m, \
            client_for(m.url) as c:
        _running(c, "code_interpreter", tenant)
        r = c.post("/execute_tool", json={"tool_name": "code_interpreter", "tenant_id": tenant, "wait": 0.1,
                                          "params": {"code": "import time; time.sleep(1.5); print('done')"}})
        assert r.status_code == 202, r.text
        out = r.json()["output"]
        assert out["type"] == "retry" and out["next_calling"] == "/execute_tool_result"
        other = c.post("/execute_tool_result", json={"call_id": out["call_id"], "tenant_id": "someone_else"})
        assert other.status_code == 404
        r = c.post("/execute_tool_result", json={"call_id": out["call_id"], "tenant_id": tenant, "wait": 20})
        assert r.status_code == 200 and r.json()["output"] == "done"
        # the container dies mid-call: a clear 502, and the status says what happened
        r = c.post("/execute_tool", json={"tool_name": "code_interpreter", "tenant_id": tenant, "wait": 0.3,
                                          "params": {"code": "import time; time.sleep(20)"}})
        assert r.status_code == 202
        docker_client.containers.get(f"msagent-{SESSION}long-code_interpreter_{tenant}").kill()
        r = c.post("/execute_tool_result", json={"call_id": r.json()["output"]["call_id"], "tenant_id": tenant})
        assert r.status_code == 502 and "exited" in r.json()["message"], r.text


def test_ports_exhausted_docker_down_and_restart_recovery(tool_image: str, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Any) -> None:
    start, _ = port_range(3)
    mid = f"{SESSION}rec"
    tenant = f"{SESSION}rec"
    cfg = {"manager_id": mid, "default_image": tool_image, "port_start": start, "port_end": start,
           "db_path": str(tmp_path / "tm.db")}
    with LocalManager(**cfg) as m, client_for(m.url) as c:
        _running(c, "calculator", tenant)
        r = c.post("/create_tool_service", json={"tool_name": "code_interpreter", "tenant_id": tenant})
        assert r.status_code == 503 and "no free port" in r.json()["message"]
    # a new manager on the same records finds the running node through its container
    with LocalManager(**cfg) as m, client_for(m.url) as c:
        tools = c.get("/tools", params={"tenant_id": tenant}).json()["output"]["tools"]
        assert tools == {f"calculator_{tenant}": "running"}
        r = c.post("/execute_tool", json={"tool_name": "calculator", "tenant_id": tenant,
                                          "params": '{"expression": "6*7"}'})
        assert r.json()["output"] == "42"
        # the port stays allocated: a second node still finds none
        r = c.post("/create_tool_service", json={"tool_name": "code_interpreter", "tenant_id": tenant})
        assert r.status_code == 503
        monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        r = c.post("/create_tool_service", json={"tool_name": "code_interpreter", "tenant_id": f"{tenant}x"})
        assert r.status_code == 503 and "Docker" in r.json()["message"]
        monkeypatch.delenv("DOCKER_HOST")
        assert c.post("/remove_tool", params={"tool_name": "calculator", "tenant_id": tenant}).status_code == 200


def test_monitor_stops_idle_nodes_and_catalogue(tool_image: str, docker_client: Any) -> None:
    start, end = port_range(4)
    tenant = f"{SESSION}idle"
    with LocalManager(manager_id=f"{SESSION}idle", default_image=tool_image, port_start=start, port_end=end,
                      idle_minutes=0.02, monitor_seconds=0.5) as m, client_for(m.url) as c:
        _running(c, "calculator", tenant)
        deadline = time.monotonic() + 15
        while c.get("/tools", params={"tenant_id": tenant}).json()["output"]["tools"].get(
                f"calculator_{tenant}") == "running":
            assert time.monotonic() < deadline, "the idle node was not stopped"
            time.sleep(0.3)
        assert not docker_client.containers.list(all=True, sparse=True, filters={"name": f"^calculator_{tenant}$"})
        out = c.post("/get_json_schema_for_tools", json={"tool_names": ["calculator", "nope"]}).json()["output"]
        assert [t["name"] for t in out["tools_json"]] == ["calculator"] and out["missing_tools"] == ["nope"]
        out = c.post("/retrieving_tools", json={"question": "evaluate an arithmetic expression", "top_k": 1})
        assert out.json()["output"]["retrieved_tools"] == ["calculator"]
        assert c.post("/retrieving_tools", json={"question": "", "top_k": 1}).status_code == 400


def _ours(docker_client: Any, manager_id: str) -> dict[str, Any]:
    """This manager's containers by node name (a container's name is the node's under the manager id)."""
    found = list_containers(docker_client, [f"msagent.manager={manager_id}"])
    return {x.name.removeprefix(f"msagent-{manager_id}-"): x for x in found}


def test_warm_pool_restart_recovery_and_vanished_containers(tool_image: str, docker_client: Any,
                                                            tmp_path: Any) -> None:
    start, end = port_range(5)
    mid, tenant = f"{SESSION}pool", f"{SESSION}pool"
    cfg = {"manager_id": mid, "default_image": tool_image, "port_start": start, "port_end": end}
    warm_name, cold_name = f"calculator_{tenant}", f"code_interpreter_{tenant}"
    calc = {"tool_name": "calculator", "tenant_id": tenant}
    with LocalManager(**cfg, pool_size=1, db_path=str(tmp_path / "a.db")) as m, client_for(m.url) as c:
        assert c.get("/tools").status_code == 200  # starts the manager, which fills its pool
        wait_until(lambda: len(m.manager.pool.ready) == 1, "the warm pool filling")
        # a create with default settings takes the warm node: running at once, no pending phase
        r = c.post("/create_tool_service", json=calc)
        assert r.json()["output"] == {"tool_node_name": warm_name, "status": "running"}, r.text
        attrs = docker_client.api.inspect_container(f"msagent-{mid}-{warm_name}")  # renamed, and hardened like any node
        assert attrs["Config"]["User"] == "10001:10001" and attrs["HostConfig"]["CapDrop"] == ["ALL"]
        assert attrs["HostConfig"]["ReadonlyRootfs"] is True and attrs["HostConfig"]["Privileged"] is False
        assert c.post("/execute_tool", json={**calc, "params": '{"expression": "6*7"}'}).json()["output"] == "42"
        _running(c, "code_interpreter", tenant, tool_cfg={"memory": "300m"})  # not default: a cold node
        wait_until(lambda: len(m.manager.pool.ready) == 1, "the warm pool refilling")
        spare = m.manager.pool.ready[0][1]
    assert spare.name in _ours(docker_client, mid)  # the manager died: its containers live on

    # restarted on the same records: both nodes adopted, the old pool node removed, its port free again
    with LocalManager(**cfg, db_path=str(tmp_path / "a.db")) as m, client_for(m.url) as c:
        tools = c.get("/tools", params={"tenant_id": tenant}).json()["output"]["tools"]
        assert tools == {warm_name: "running", cold_name: "running"}
        assert set(_ours(docker_client, mid)) == {warm_name, cold_name}
        assert sorted(m.manager.store.port_owners().values()) == sorted([warm_name, cold_name])

    # restarted with its records lost: the nodes are found by their labels (the pool-born one by its /health)
    with LocalManager(**cfg, db_path=str(tmp_path / "b.db"), monitor_seconds=0.3) as m, client_for(m.url) as c:
        tools = c.get("/tools", params={"tenant_id": tenant}).json()["output"]["tools"]
        assert tools == {warm_name: "running", cold_name: "running"}
        assert c.post("/execute_tool", json={**calc, "params": '{"expression": "2**5"}'}).json()["output"] == "32"
        r = c.post("/execute_tool", json={"tool_name": "code_interpreter", "tenant_id": tenant,
                                          "params": {"code": "print(6*7)"}})
        assert r.json()["output"] == "42", r.text
        assert c.get("/tools", params={"tenant_id": "someone_else"}).json()["output"]["tools"] == {}
        # a container removed behind the manager's back: the monitor drops its record and port
        _ours(docker_client, mid)[cold_name].remove(force=True)
        wait_until(lambda: cold_name not in c.get("/tools", params={"tenant_id": tenant}).json()["output"]["tools"],
                   "the monitor dropping the vanished node")
        assert list(m.manager.store.port_owners().values()) == [warm_name]
        assert c.post("/remove_tool", json=calc).status_code == 200
    assert _ours(docker_client, mid) == {}


def test_closing_while_a_pool_node_starts_leaves_no_container(tool_image: str, docker_client: Any,
                                                              tmp_path: Any) -> None:
    """The manager closes while its warm-pool node is still starting: the start is waited for and
    the container removed (it used to run on, owned by nobody)."""
    import asyncio

    from deploy.tool_manager.config import ManagerConfig
    from deploy.tool_manager.manager import ToolManager

    start, end = free_port_block()
    mid = f"{SESSION}drain"
    cfg = ManagerConfig(manager_id=mid, default_image=tool_image, port_start=start, port_end=end, pool_size=1,
                        backend="local", no_auth=True, db_path=str(tmp_path / "m.db"))

    async def open_and_close() -> ToolManager:
        m = ToolManager(cfg)
        await m.start()  # starts filling the pool
        deadline = time.monotonic() + 60
        while not await asyncio.to_thread(_ours, docker_client, mid):  # its container exists: it is starting
            assert time.monotonic() < deadline, "the pool node's container never appeared"
            await asyncio.sleep(0.05)
        assert not m.pool.ready  # not ready yet: its server is still coming up
        await m.close()
        return m

    m = asyncio.run(open_and_close())
    assert _ours(docker_client, mid) == {}
    assert not m.pool.ready and not m.pool.starting
    assert m.store.port_owners() == {}


def test_token_from_environment_and_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import subprocess
    import sys

    from deploy.tool_manager.config import DEFAULT_PORT, ManagerConfig
    from msagent.ports import free_port

    defaults = ManagerConfig()
    assert (DEFAULT_PORT, defaults.port_start, defaults.idle_minutes) == (31511, 31513, 30.0)  # the seed's numbers
    monkeypatch.setenv("TOOL_MANAGER_TOKEN", "from-env")
    assert ManagerConfig.from_env().token == "from-env"
    assert ManagerConfig.from_env(token="from-flag").token == "from-flag"
    monkeypatch.delenv("TOOL_MANAGER_TOKEN")
    assert ManagerConfig.from_env().token is None

    port = free_port()
    cmd = [sys.executable, "-m", "msagent", "serve", "tool-manager", "--uvicorn", "--port", str(port),
           "--manager-id", f"{SESSION}cli", "--pool-size", "0"]
    proc = subprocess.Popen(cmd, env={**os.environ, "TOOL_MANAGER_TOKEN": TOKEN},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                with client_for(url, token=None) as probe:
                    return probe.get("/health").status_code == 200
            except Exception:  # noqa: BLE001  (not listening yet)
                return False

        wait_until(up, "the tool manager starting")
        with client_for(url, token=None) as c:
            assert c.get("/docs").status_code == 200
            assert c.get("/tools").status_code == 401
        with client_for(url, token="nope") as c:
            assert c.get("/tools").status_code == 403
        with client_for(url) as c:  # TOOL_MANAGER_TOKEN reached the server
            assert c.get("/tools").json()["output"] == {"tools": {}}
    finally:
        proc.terminate()
        proc.wait(20)


def test_network_only_when_asked_and_busy_host_ports_skipped(tool_image: str, docker_client: Any) -> None:
    import socket

    start, end = free_port_block()
    tenant = f"{SESSION}net"
    with socket.socket() as busy:  # another program holds the first port of the range
        busy.bind(("127.0.0.1", start))
        busy.listen()
        with LocalManager(manager_id=f"{SESSION}net", default_image=tool_image, port_start=start, port_end=end) as m, \
                client_for(m.url) as c:
            _running(c, "calculator", tenant, tool_cfg={"network": True})
            port = m.manager.store.get(tenant, "calculator").port
            assert port == start + 1
            host = docker_client.api.inspect_container(f"msagent-{SESSION}net-calculator_{tenant}")["HostConfig"]
            assert host["NetworkMode"] == "bridge"  # asked for: a routed network, published on loopback only
            assert host["PortBindings"] == {f"{port}/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
            assert host["CapDrop"] == ["ALL"] and host["ReadonlyRootfs"] is True  # the rest stays hardened
            r = c.post("/execute_tool", json={"tool_name": "calculator", "tenant_id": tenant,
                                              "params": '{"expression": "6*7"}'})
            assert r.json()["output"] == "42", r.text
            assert c.post("/remove_tool", json={"tool_name": "calculator", "tenant_id": tenant}).status_code == 200
