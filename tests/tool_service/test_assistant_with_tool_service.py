"""The assistant API configured with ``use_tool_api``: assistants/lite runs its tools in tool nodes."""

from __future__ import annotations

import httpx
import pytest
from tool_service_helpers import SESSION, TOKEN, client_for

from deploy.assistant.app import create_app
from deploy.assistant.config import AssistantConfig
from msagent.testing import FakeOpenAIServer, FakeReply
from msagent.testing.asgi import uvicorn_thread

pytestmark = pytest.mark.docker


def _config(server: FakeOpenAIServer, tenant: str, url: str, token: str, tmp: object) -> AssistantConfig:
    return AssistantConfig(
        model_server="openai", api_base=server.base_url, api_key="sk-x", model="fake-model",
        use_tool_api=True, tool_manager_url=url, tool_manager_token=token, tool_tenant_id=tenant,
        knowledge_dir=str(tmp),
    )  # fmt: skip


def _lite(base: str, tools: list[str]) -> httpx.Response:
    body = {
        "agent_config": {"name": "calc", "description": "a calculator", "instruction": "Compute.", "tools": tools},
        "llm_config": {"model": "fake-model"},
        "messages": [{"role": "user", "content": "6*7?"}],
        "uuid_str": "u1",
    }
    return httpx.post(f"{base}/v1/assistants/lite", json=body, timeout=120)


def test_lite_runs_its_tool_in_a_node(manager_url: str, tmp_path: object) -> None:
    tenant = f"{SESSION}lite"
    replies = [FakeReply(tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}]),
               FakeReply(text="It is 42.")]  # fmt: skip
    with FakeOpenAIServer(replies=replies) as server:
        app = create_app(_config(server, tenant, manager_url, TOKEN, tmp_path))
        try:
            with uvicorn_thread(app) as base:
                r = _lite(base, ["calculator"])
                assert r.status_code == 200, r.text
                assert r.json()["output"]["response"].endswith("It is 42.")
                tool_msgs = [m for m in list(server.requests)[1]["messages"] if m["role"] == "tool"]
                assert [m["content"] for m in tool_msgs] == ["42"]
                with client_for(manager_url) as c:  # the call ran in this tenant's node
                    tools = c.get("/tools", params={"tenant_id": tenant}).json()["output"]["tools"]
                    assert tools == {f"calculator_{tenant}": "running"}
                # a tool the image does not serve: the manager's 404 is the caller's 400
                bad = _lite(base, ["no_such_tool"])
                assert bad.status_code == 400 and "tool service" in bad.json()["error"]["message"], bad.text
        finally:
            app.state.services.close()
    with client_for(manager_url) as c:
        assert c.post("/remove_tool", json={"tool_name": "calculator", "tenant_id": tenant}).status_code == 200


def test_lite_without_a_reachable_tool_manager_is_a_502(tmp_path: object) -> None:
    with FakeOpenAIServer(replies=[FakeReply(text="unused")]) as server:
        app = create_app(_config(server, f"{SESSION}down", "http://127.0.0.1:9", TOKEN, tmp_path))
        try:
            with uvicorn_thread(app) as base:
                r = _lite(base, ["calculator"])
                err = r.json()["error"]
                assert r.status_code == 502 and "unreachable" in err["message"] and err["code"] == "tool_service_unavailable"
                assert server.requests == []  # the model is not called without its tools
        finally:
            app.state.services.close()
