"""XAgent's ToolServer protocol against the real manager and real containers, through a client
written from XAgent's (``xagent_client.py``). One session node serves most of the module."""

from __future__ import annotations

import base64
import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from tool_service_helpers import SESSION, TOKEN, LocalManager, client_for, port_range, wait_until
from xagent_client import XAgentToolServer

from deploy.tool_manager.container import list_containers

pytestmark = pytest.mark.docker

ENVS = {"FileSystemEnv", "PythonNotebook", "ShellEnv", "WebEnv", "RapidAPIEnv"}


def _containers(docker_client: Any, manager_id: str) -> list[Any]:
    return list_containers(docker_client, [f"msagent.manager={manager_id}"])


@pytest.fixture(scope="module")
def manager(tool_image: str) -> Iterator[LocalManager]:
    start, end = port_range(6)
    with LocalManager(manager_id=f"{SESSION}xa", default_image=tool_image, port_start=start, port_end=end,
                      pool_size=1, xagent={"call_wait": 2}) as m:
        with client_for(m.url) as c:  # starts the manager; its warm pool fills
            assert c.get("/tools").status_code == 200
        wait_until(lambda: len(m.manager.pool.ready) == 1, "the warm pool filling", 120)
        yield m


@pytest.fixture(scope="module")
def session(manager: LocalManager, tmp_path_factory: pytest.TempPathFactory) -> Iterator[XAgentToolServer]:
    server = XAgentToolServer(manager.url, TOKEN, tmp_path_factory.mktemp("xagent-files"))
    yield server
    server.close()


def test_session_opens_from_the_warm_pool_and_lists_envs(session: XAgentToolServer, manager: LocalManager) -> None:
    assert session.opened["message"] == "add cookie" and session.opened["status"] == "running"  # warm
    tools = session.get_available_tools()
    assert {e["name"] for e in tools["available_envs"]} == ENVS
    files = next(e for e in tools["available_envs"] if e["name"] == "FileSystemEnv")
    assert "FileSystemEnv_write_to_file" in files["tools"] and files["description"]
    assert {"calculator", "PythonNotebook_execute_cell", "read_call_result"} <= set(tools["available_tools"])
    write = next(t for t in tools["tools_json"] if t["name"] == "FileSystemEnv_write_to_file")
    assert write["parameters"]["required"] == ["filepath", "content"]
    r = session.post("/get_json_schema_for_tools", json={"tool_names": ["ShellEnv_execute_command", "nope"]}).json()
    assert [t["name"] for t in r["tools_json"]] == ["ShellEnv_execute_command"] and r["missing_tools"] == ["nope"]
    r = session.post("/get_json_schema_for_envs", json={"env_names": ["WebEnv", "NoEnv"]}).json()
    assert r["envs_json"][0]["tools"] == ["WebEnv_browse_website", "WebEnv_search"] and r["missing_envs"] == ["NoEnv"]
    r = session.post("/retrieving_tools", json={"question": "run a shell command", "top_k": 1}).json()
    assert r["retrieved_tools"] == ["ShellEnv_execute_command"]
    # the seed's endpoints keep their envelope beside XAgent's (no cookie: the seed's GET)
    with client_for(manager.url) as c:
        seed = c.get("/get_available_tools").json()
        assert set(seed) == {"request_id", "message", "output"} and "calculator" in seed["output"]["available_tools"]


def test_files_notebook_chart_and_shell(session: XAgentToolServer) -> None:
    status, out = session.execute("FileSystemEnv_write_to_file", {"filepath": "notes/todo.txt", "content": "a\nb"})
    assert status == 200 and out.startswith("wrote 2 lines to 'notes/todo.txt'")
    status, out = session.execute("FileSystemEnv_read_from_file", {"filepath": "notes/todo.txt", "start_line": 2})
    assert (status, out) == (200, "    2: b")
    code = "xs = np.arange(5)\nprint(int(xs.sum()))\nplt.plot(xs, xs ** 2)"
    status, out = session.run("PythonNotebook_execute_cell", {"code": code})  # the kernel's start may take a 450
    assert status == 200 and out[0].startswith("cell_index: 0\n10")
    chart = out[-1]  # the binary part, saved by the client as XAgent does
    assert chart["media_type"] == "image/png"
    assert (session.files / chart["file_name"]).read_bytes().startswith(b"\x89PNG")
    status, out = session.execute("ShellEnv_execute_command", {"command": "cat notes/todo.txt | wc -l; id -u"})
    assert (status, out) == (200, "exit code 0\n2\n10001")


def test_a_long_call_answers_450_then_the_rest(session: XAgentToolServer) -> None:
    started = time.monotonic()
    status, out = session.execute("ShellEnv_execute_command", {"command": "sleep 3; echo done", "timeout": 30})
    assert status == 450 and time.monotonic() - started < 3
    detail = out["detail"]
    assert detail["type"] == "retry" and detail["next_calling"] == "read_call_result"
    while status == 450:  # what an XAgent agent does: call next_calling with its arguments
        status, out = session.execute(detail["next_calling"], detail["arguments"])
    assert (status, out) == (200, "exit code 0\ndone")
    status, out = session.execute("read_call_result", detail["arguments"])  # a result is fetched once
    assert status == 422 and "no pending call" in out


def test_bad_input_gets_xagents_status_codes(session: XAgentToolServer, manager: LocalManager) -> None:
    status, out = session.execute("NoSuchTool", {})
    assert status == 404 and "unknown tool 'NoSuchTool'" in out
    status, out = session.execute("FileSystemEnv_read_from_file", {"start_line": 1})
    assert status == 422 and "missing required field 'filepath'" in out
    status, out = session.execute("FileSystemEnv_read_from_file", {"filepath": "../../etc/passwd"})
    assert status == 400 and "outside the workspace" in out
    status, out = session.execute("ShellEnv_execute_command", {"command": "sleep 10", "timeout": 0.5})
    assert status == 500 and "killed after 0.5 s" in out
    status, out = session.execute("WebEnv_browse_website", {"url": "https://example.org/"})
    assert status == 500 and "no network" in out  # a node has none unless its tool_cfg asks
    anonymous = requests.post(f"{session.url}/execute_tool", json={"tool_name": "calculator",
                                                                   "arguments": {"expression": "1"}})
    assert anonymous.status_code == 401 and "POST /get_cookie first" in anonymous.json()["detail"]
    wrong = requests.post(session.url.replace(TOKEN, "wrong") + "/get_cookie")
    assert wrong.status_code == 403
    r = session.post("/download_file", json={"file_path": "../secret"})
    assert r.status_code == 400 and "outside the workspace" in r.json()["detail"]


def test_workspace_upload_download_structure_and_zip(session: XAgentToolServer, tmp_path: Path) -> None:
    local = tmp_path / "data.csv"
    local.write_text("x,y\n1,2\n")
    with local.open("rb") as f:  # XAgent's upload: the file and its name as two multipart parts
        r = session.post("/upload_file", files={"file": f, "filename": local.name})
    assert r.status_code == 200 and r.json()["path"] == "data.csv"
    r = session.post("/download_file", json={"file_path": "data.csv"})
    assert r.status_code == 200 and r.content == b"x,y\n1,2\n"
    tree = session.post("/get_workspace_structure").json()
    assert tree["type"] == "directory" and {"data.csv", "notes", "notebook.ipynb"} <= {c["name"] for c in tree["children"]}
    r = session.post("/download_workspace")
    names = set(zipfile.ZipFile(io.BytesIO(r.content)).namelist())
    assert {"data.csv", "notes/todo.txt", "notebook.ipynb", "images/chart_1.png"} <= names
    assert json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read("notebook.ipynb"))["nbformat"] == 4


def test_a_node_answers_only_with_its_secret(session: XAgentToolServer, manager: LocalManager) -> None:
    rec = next(r for r in manager.manager.store.all() if r.tool_name.startswith("xagent-"))
    assert rec.url and rec.secret
    assert httpx.get(f"{rec.url}/health").status_code == 401
    assert httpx.post(f"{rec.url}/execute_tool", json={"tool_name": "calculator", "params": {"expression": "1"}},
                      headers={"Authorization": "Bearer not-it"}).status_code == 401
    r = httpx.post(f"{rec.url}/execute_tool", json={"tool_name": "calculator", "params": {"expression": "6*7"}},
                   headers={"Authorization": f"Bearer {rec.secret}"})
    assert r.json()["output"] == "42"


def test_closing_removes_the_node(manager: LocalManager, docker_client: Any, tmp_path: Path) -> None:
    server = XAgentToolServer(manager.url, TOKEN, tmp_path)
    assert server.execute("calculator", {"expression": "6*7"}) == (200, "42")
    key = server.opened["tool_node_name"].rsplit("_", 1)[0]
    container = manager.manager.store.get("default", key).container_id
    assert container in {c.id for c in _containers(docker_client, f"{SESSION}xa")}
    r = server.post("/release_session")
    assert r.status_code == 200 and "removed" in r.json()["message"]
    assert container not in {c.id for c in _containers(docker_client, f"{SESSION}xa")}
    status, out = server.execute("calculator", {"expression": "1"})
    assert status == 401 and "unknown or closed session" in out


def test_idle_sessions_are_closed(tool_image: str, docker_client: Any, tmp_path: Path) -> None:
    start, end = port_range(8)
    mid = f"{SESSION}xidle"
    with LocalManager(manager_id=mid, default_image=tool_image, port_start=start, port_end=end,
                      monitor_seconds=0.3, xagent={"idling_close_minutes": 0.03}) as m:
        server = XAgentToolServer(m.url, TOKEN, tmp_path)
        assert server.execute("ShellEnv_execute_command", {"command": "sleep 2.5; echo busy"}) == \
            (200, "exit code 0\nbusy")  # a call longer than the idle limit is not cut off
        key = server.opened["tool_node_name"].rsplit("_", 1)[0]

        def closed() -> bool:
            rec = m.manager.store.get("default", key)
            return not _containers(docker_client, mid) and (rec is None or rec.status == "exited")

        wait_until(closed, "the idle session's node being removed", 30)
        status, out = server.execute("calculator", {"expression": "1"})
        assert status == 401 and "stopped by the monitor after being idle" in out


def test_xagent_client_through_ray_serve(manager_url: str, tmp_path: Path) -> None:
    """The same protocol on the manager deployed on Ray Serve (under a route prefix)."""
    server = XAgentToolServer(manager_url, TOKEN, tmp_path)
    try:
        assert server.execute("calculator", {"expression": "6*7"}) == (200, "42")
        r = server.post("/get_available_tools", json={})
        assert "ShellEnv" in {e["name"] for e in r.json()["available_envs"]}
    finally:
        server.close()
    assert server.execute("calculator", {"expression": "1"})[0] == 401


def test_binary_results_decode(session: XAgentToolServer) -> None:
    r = session.post("/execute_tool", json={"tool_name": "PythonNotebook_execute_cell",
                                            "arguments": {"code": "plt.figure(); plt.bar([1], [2])"}})
    wrapped = r.json()
    while r.status_code == 450:
        r = session.post("/execute_tool", json={"tool_name": "read_call_result",
                                                "arguments": wrapped["detail"]["arguments"]})
        wrapped = r.json()
    assert wrapped["type"] == "composite" and wrapped["data"][-1]["type"] == "binary"
    assert base64.b64decode(wrapped["data"][-1]["data"]).startswith(b"\x89PNG")
