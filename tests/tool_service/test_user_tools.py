"""A user's own tools in nodes: ``msagent build-image --tools`` bakes a test package (and its pip
requirement) into a derived image; the seed's ``ToolServiceProxy('RenewInstance', ...)`` code and
``RolePlay(function_list=[...], use_tool_api=True)`` then run them in containers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tool_service_helpers import SESSION, TOKEN, LocalManager, client_for, port_range

pytestmark = pytest.mark.docker

USER_TOOLS = Path(__file__).resolve().parent / "user_tools"


@pytest.fixture(scope="module")
def custom_image(tool_image: str, docker_client: Any) -> str:
    cmd = [sys.executable, "-m", "msagent", "build-image", "--tools", str(USER_TOOLS)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    tag = run.stdout.strip().splitlines()[-1]
    assert tag.startswith("msagent/tool-node-custom:") and "your tools: RenewInstance, format_table" in run.stdout
    from deploy.tool_node.image import image_tool_names

    served = image_tool_names(docker_client.images.get(tag)) or []
    assert {"RenewInstance", "format_table", "calculator", "ShellEnv_execute_command"} <= set(served)
    return tag


@pytest.fixture()
def manager(custom_image: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalManager]:
    start, end = port_range(9)
    with LocalManager(manager_id=f"{SESSION}user", default_image=custom_image, port_start=start, port_end=end) as m:
        monkeypatch.setenv("TOOL_MANAGER_SERVICE_URL", m.url)
        monkeypatch.setenv("TOOL_MANAGER_AUTH", TOKEN)
        yield m


def test_the_seeds_tool_service_proxy_runs_a_user_tool(manager: LocalManager) -> None:
    from msagent.tools.base import ToolServiceProxy

    # the seed's code, verbatim
    tool_service = ToolServiceProxy(tool_name='RenewInstance', tool_cfg={'test': 'xxx'})
    result = tool_service.call( "{\"instance_id\": 123, \"period\": \"mon\"}")

    try:
        assert result == str({'result': '已完成ECS实例ID为123的续费，续费时长mon月'})
        assert tool_service.spec.parameters["required"] == ["instance_id", "period"]
        table = ToolServiceProxy("format_table", {})  # its requirement (tabulate) is in the image only
        assert table.call('{"rows": [["a", 1], ["bb", 22]]}') == "a    1\nbb  22"
        table.remove()
    finally:
        tool_service.remove()
    with client_for(manager.url) as c:  # a tool the image does not have: a clear 404 naming what it has
        r = c.post("/create_tool_service", json={"tool_name": "no_such_tool"})
        assert r.status_code == 404 and "RenewInstance" in r.json()["message"]


def test_role_play_with_use_tool_api_runs_a_user_tool(manager: LocalManager) -> None:
    from msagent.agents import RolePlay
    from msagent.testing import FakeOpenAIServer, FakeReply

    call = {"name": "RenewInstance", "arguments": {"instance_id": "i-42", "period": "3"}}
    with FakeOpenAIServer(replies=[FakeReply(text="", tool_calls=[call]), FakeReply(text="Renewed.")]) as server:
        llm = {"model": "fake-model", "model_server": "openai", "api_base": server.base_url, "api_key": "sk-x"}
        bot = RolePlay(function_list=['RenewInstance'], llm=llm, use_tool_api=True)
        try:
            text = "".join(bot.run("renew i-42 for 3 months"))
            assert "Observation:" in text and "已完成ECS实例ID为i-42的续费" in text and text.endswith("Renewed.")
            second = list(server.requests)[1]
            assert [m["content"] for m in second["messages"] if m["role"] == "tool"] == [
                str({'result': '已完成ECS实例ID为i-42的续费，续费时长3月'})]
        finally:
            bot.function_map["RenewInstance"].remove()
            bot.close()


def test_a_chart_made_in_a_node_comes_back_as_a_local_image(manager: LocalManager, msagent_data_dir: Path) -> None:
    """Qwen-Agent's code interpreter in a node: np / pd / plt ready there too, and the chart it draws
    arrives as a PNG file on the caller's side (``![name](path)`` the agent can show)."""
    from msagent.tools.base import ToolServiceProxy

    proxy = ToolServiceProxy("code_interpreter", {})
    try:
        out = proxy.call('{"code": "df = pd.DataFrame({\\"y\\": np.arange(3) ** 2})\\nprint(df.y.sum())\\nplt.plot(df.y)"}')
    finally:
        proxy.remove()
    lines = out.splitlines()
    assert lines[0] == "5" and lines[-1].startswith("![image_1.png](")
    image = Path(lines[-1][len("![image_1.png]("):-1])
    assert image.is_relative_to(msagent_data_dir / "tool_files") and image.read_bytes().startswith(b"\x89PNG")
