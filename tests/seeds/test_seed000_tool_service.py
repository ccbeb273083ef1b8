"""Seed 000 (ModelScope-Agent servers), the agent-side examples, as a contract: the user's code runs
verbatim (imports ``modelscope_agent`` -> ``msagent``, the llm config pointed at a fake DashScope
server speaking the real wire), with its tools in real tool-node containers."""

from __future__ import annotations

from typing import Any

import pytest

from msagent.testing import FakeDashScopeServer, FakeReply


def test_tool_service_proxy_example(seed_manager: Any) -> None:
    # --- the seed's code (import changed) --------------------------------------------------------
    from msagent.tools.base import ToolServiceProxy

    tool_service = ToolServiceProxy(tool_name='RenewInstance', tool_cfg={'test': 'xxx'})

    result = tool_service.call( "{\"instance_id\": 123, \"period\": \"mon\"}")
    # --- end of the seed's code ------------------------------------------------------------------
    try:
        assert result == "已完成ECS实例ID为123的续费，续费时长mon月"  # the seed's /execute_tool answer
        assert tool_service.node_name == "RenewInstance_default"
        # tool_info as the seed shows it: the parameters as the tool wrote them
        assert tool_service.function["parameters"][0] == {
            "name": "instance_id", "description": "ECS实例ID", "required": True, "type": "string"}  # fmt: skip
    finally:
        tool_service.remove()
        tool_service.close()


def test_role_play_with_the_tool_service(seed_manager: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-fake-dashscope")
    call = {"name": "image_gen", "arguments": '{"text": "多啦A梦"}'}  # as DashScope sends it (UTF-8)
    replies = [FakeReply(tool_calls=[call]),
               FakeReply(text="这是为你画的多啦A梦：![IMAGEGEN](https://images.example/多啦A梦.png)", chunk_chars=4)]  # fmt: skip
    with FakeDashScopeServer(replies=replies) as dashscope_server:
        # --- the seed's code (import and llm_config changed) -------------------------------------
        from msagent.agents.role_play import RolePlay
        import os

        llm_config = {'model': 'qwen-turbo', 'model_server': 'dashscope', 'api_base': dashscope_server.base_url}

        # input tool name
        function_list = ['image_gen']

        bot = RolePlay(function_list=function_list, llm=llm_config, use_tool_api=True)

        response = bot.run(
            '创建一个多啦A梦', dashscope_api_key=os.getenv('DASHSCOPE_API_KEY'))

        text = ''
        for chunk in response:
            text += chunk
        print(text)
        assert isinstance(text, str)
        assert 'Answer:' in text
        assert 'Observation:' in text
        assert '![IMAGEGEN]' in text
        # --- end of the seed's code --------------------------------------------------------------
        sent = dashscope_server.requests
    try:
        # the key went with the run to the tool in its container (the tool refuses to run without it)
        assert "Observation: <result>![IMAGEGEN](https://images.example/多啦A梦.png)</result>" in text
        assert text.startswith('Action: image_gen\nAction Input: {"text": "多啦A梦"}\n')
        tool_turn = [m for m in sent[1]["input"]["messages"] if m["role"] == "tool"]
        assert tool_turn[0]["content"] == "![IMAGEGEN](https://images.example/多啦A梦.png)"
        # and without the key the tool's refusal is what the model reads, not a crash
        again = FakeDashScopeServer(replies=[FakeReply(tool_calls=[call]), FakeReply(text="没有密钥。")])
        with again:
            bot.llm = type(bot.llm)(bot.llm.config.model_copy(update={"api_base": again.base_url}))  # type: ignore[misc]
            text = "".join(bot.run("创建一个多啦A梦"))
        assert "Observation: <result>Error: tool 'image_gen' failed: image_gen needs the dashscope_api_key" in text
        assert text.endswith("Answer: 没有密钥。")
    finally:
        bot.function_map["image_gen"].remove()  # type: ignore[attr-defined]
        bot.close()
