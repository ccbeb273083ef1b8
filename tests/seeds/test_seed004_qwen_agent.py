"""Seed 004 (Qwen-Agent function calling) as a contract: the user's code runs verbatim (imports
``qwen_agent`` -> ``msagent`` and the llm config pointed at a fake vLLM server speaking the real
OpenAI wire; nothing else changed). The fake server answers what the seed's vLLM answered, and the
prompts msagent sends are compared with the prompts the seed's vLLM log shows."""

from __future__ import annotations

import ast
import itertools
from typing import Any

import pytest

from msagent.testing import FakeOpenAIServer, FakeReply

# --- what the seed's vLLM received (its log) and what the model wrote --------------------------
SEED_PROMPT_1 = '<|im_start|>system\nYou are a helpful assistant.\n\n# 工具\n\n## 你拥有如下工具：\n\n### my_image_gen\n\nmy_image_gen: AI画图工具,返回图片URL给用户 输入参数：[{"name": "prompt", "type": "string", "description": "期望的图像内容的详细描述,注意描述必须用英文", "required": true}] 此工具的输入应为JSON对象。\n\n## 你可以在回复中插入零次、一次或多次以下命令以调用工具：\n\n✿FUNCTION✿: 工具名称，必须是[my_image_gen]之一。\n✿ARGS✿: 工具输入\n✿RESULT✿: 工具结果\n✿RETURN✿: 根据工具结果进行回复，需将图片用![](url)渲染出来<|im_end|>\n<|im_start|>user\n帮我画张小狗在草地上的图片<|im_end|>\n<|im_start|>assistant\n'
SEED_PROMPT_2 = '<|im_start|>system\nYou are a helpful assistant.\n\n# 工具\n\n## 你拥有如下工具：\n\n### my_image_gen\n\nmy_image_gen: AI画图工具,返回图片URL给用户 输入参数：[{"name": "prompt", "type": "string", "description": "期望的图像内容的详细描述,注意描述必须用英文", "required": true}] 此工具的输入应为JSON对象。\n\n## 你可以在回复中插入零次、一次或多次以下命令以调用工具：\n\n✿FUNCTION✿: 工具名称，必须是[my_image_gen]之一。\n✿ARGS✿: 工具输入\n✿RESULT✿: 工具结果\n✿RETURN✿: 根据工具结果进行回复，需将图片用![](url)渲染出来<|im_end|>\n<|im_start|>user\n帮我画张小狗在草地上的图片\n\n✿FUNCTION✿: my_image_gen\n✿ARGS✿: {"prompt":"小狗站在草地上的图片","image_url":"![](小狗站在草地上的图片)"}\n✿RESULT✿: {"image_url": "image/小狗站在草地上的图片"}\n✿RETURN✿<|im_end|>\n<|im_start|>assistant\n'
SEED_STOP = ["✿RESULT✿", "✿RETURN✿"]
ARGS = '{"prompt":"小狗站在草地上的图片","image_url":"![](小狗站在草地上的图片)"}'
ANSWER = "已为您画出小狗站在草地上的图片。![小狗站在草地上的图片](image/小狗站在草地上的图片)"
# the model goes on to invent a result; the stop word cuts it, as vLLM does
MODEL_TURNS = [
    FakeReply(text=f"✿FUNCTION✿: my_image_gen\n✿ARGS✿: {ARGS}\n✿RESULT✿: made up", chunk_chars=3),
    FakeReply(text=ANSWER, chunk_chars=2),
]
# "Qwen-Agent 的 Assistant 一共产生了 3 句输出"
SEED_FINAL = [
    {'role': 'assistant', 'content': '', 'function_call': {'name': 'my_image_gen', 'arguments': '{"prompt":"小狗站在草地上的图片","image_url":"![](小狗站在草地上的图片)"}'}},
    {'role': 'function', 'content': '{"image_url": "image/小狗站在草地上的图片"}', 'name': 'my_image_gen'},
    {'role': 'assistant', 'content': '已为您画出小狗站在草地上的图片。![小狗站在草地上的图片](image/小狗站在草地上的图片)'},
]


def chatml(messages: list[dict[str, Any]]) -> str:
    """The prompt a Qwen2 chat template makes of the messages (what vLLM logged)."""
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"


def check_yields(seen: list[list[dict[str, Any]]]) -> None:
    """The seed's sequence of shapes: the call while it is written, its result, the growing answer."""
    def shape(r: list[dict[str, Any]]) -> tuple[str, ...]:
        return tuple("function_call" if "function_call" in m else m["role"] for m in r)

    phases = [k for k, _ in itertools.groupby(seen, key=shape)]
    assert phases == [("function_call",), ("function_call", "function"), ("function_call", "function", "assistant")]
    calls = [r[0]["function_call"] for r in seen if len(r) == 1]
    assert len(calls) > 3  # shown while written, not only once complete
    for a, b in itertools.pairwise(calls):
        assert "my_image_gen".startswith(a["name"]) and b["name"].startswith(a["name"])
        assert b["arguments"].startswith(a["arguments"]) or not a["arguments"]
    answers = [r[2]["content"] for r in seen if len(r) == 3]
    assert len(answers) > 3 and all(b.startswith(a) for a, b in itertools.pairwise(answers))
    assert seen[-1] == SEED_FINAL


def test_assistant_example(capsys: pytest.CaptureFixture[str]) -> None:
    with FakeOpenAIServer(replies=MODEL_TURNS, model="Qwen2-0.5B-Instruct") as vllm:
        # --- the seed's code (imports and llm_cfg changed) ---------------------------------------
        # pip install qwen-agent[gui,rag,code_interpreter]
        import json
        from msagent.agents import Assistant
        from msagent.tools.base import BaseTool, register_tool

        @register_tool('my_image_gen')
        class MyImageGen(BaseTool):
            description = 'AI画图工具,返回图片URL给用户'
            parameters = [{
                'name': 'prompt',
                'type': 'string',
                'description': '期望的图像内容的详细描述,注意描述必须用英文',
                'required': True
            }]

            def call(self, params: str, **kwargs) -> str:
                prompt = json.loads(params)['prompt']
                return json.dumps({'image_url': f'image/{prompt}'}, ensure_ascii=False)


        llm_cfg = {
            'model': 'Qwen2-0.5B-Instruct',
            'model_server': vllm.base_url,
            'api_key': 'EMPTY',
        }


        bot = Assistant(llm=llm_cfg,
                        function_list=["my_image_gen"],
                        files=None)

        messages = [{"role": "user", "content": "帮我画张小狗在草地上的图片"}]
        for r in bot.run(messages=messages):
            print(r)
        # --- end of the seed's code ------------------------------------------------------------
        requests = list(vllm.requests)
    seen = [ast.literal_eval(line) for line in capsys.readouterr().out.splitlines()]
    check_yields(seen)
    assert [chatml(r["messages"]) for r in requests] == [SEED_PROMPT_1, SEED_PROMPT_2]
    assert all(r["stop"] == SEED_STOP and "tools" not in r for r in requests)


FUNCTIONS_SCHEMA = [{"name": "my_image_gen", "description": "AI画图工具,返回图片URL给用户", "parameters": {
    "type": "object", "properties": {"prompt": {"type": "string", "description": "期望的图像内容的详细描述,描述必须用英文描述"}},
    "required": ["prompt"]}}]  # fmt: skip
DOG = '{"prompt": "a cute little dog playing on the green grass"}'


@pytest.mark.parametrize("form", ["TextChatAtOAI", "get_chat_model", "list_of_params"])
def test_function_calling_with_chat(form: str) -> None:
    reply = FakeReply(text=f"✿FUNCTION✿: my_image_gen\n✿ARGS✿: {DOG}")
    with FakeOpenAIServer(replies=[reply]) as vllm:
        # --- the seed's code (imports and llm_cfg changed; the three ways it shows) ------------
        from msagent.llm.oai import TextChatAtOAI

        llm_cfg = {
            'model': 'Qwen2-0.5B-Instruct',
            'model_server': vllm.base_url,
            'api_key': 'EMPTY',
        }
        if form == "get_chat_model":
            from msagent.llm import get_chat_model

            model = get_chat_model(llm_cfg)
        else:
            model = TextChatAtOAI(llm_cfg)

        if form != "list_of_params":
            res = model.chat(
                messages=[{"role": "user", "content": "帮我画张小狗在草地上的图片"}],
                functions = [
                    {
                        "name": "my_image_gen",
                        "description": "AI画图工具,返回图片URL给用户",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "prompt": {
                                    "type": "string",
                                    "description": "期望的图像内容的详细描述,描述必须用英文描述"
                                }
                            },
                            "required": ["prompt"],
                        }
                    }
                ],
                stream = False
            )
        else:
            res = model.chat(
                messages=[{"role": "user", "content": "帮我画张小狗在草地上的图片"}],
                functions = [
                    {
                        "name": "my_image_gen",
                        "description": "AI画图工具,返回图片URL给用户",
                        "parameters": [
                            {
                                "name": "prompt",
                                "type": "string",
                                "description": "期望的图像内容的详细描述,描述必须用英文描述",
                                "required": True
                            }
                        ]
                    }
                ],
                stream = False
            )
        # --- end of the seed's code ------------------------------------------------------------
        sent = vllm.requests[0]
    assert res == [{'role': 'assistant', 'content': '', 'function_call': {'name': 'my_image_gen', 'arguments': '{"prompt": "a cute little dog playing on the green grass"}'}}]
    system = sent["messages"][0]["content"]
    shown = '[{"name": "prompt", "type": "string"' if form == "list_of_params" else '{"type": "object", "properties"'
    assert system.startswith("# 工具\n\n## 你拥有如下工具：\n\n### my_image_gen\n\nmy_image_gen: AI画图工具,返回图片URL给用户 输入参数：" + shown)
    assert sent["stop"] == SEED_STOP and "tools" not in sent


def test_assistant_example_with_its_tool_in_a_tool_node(seed_manager: Any) -> None:
    """The same tool, unchanged, in a real container: ``call`` gets JSON text there too."""
    from msagent.agents import Assistant
    from msagent.tools import ToolServiceProxy

    with FakeOpenAIServer(replies=MODEL_TURNS) as vllm:
        llm_cfg = {'model': 'Qwen2-0.5B-Instruct', 'model_server': vllm.base_url, 'api_key': 'EMPTY'}
        bot = Assistant(llm=llm_cfg, function_list=["my_image_gen"], files=None, use_tool_api=True)
        try:
            assert isinstance(bot.function_map["my_image_gen"], ToolServiceProxy)
            seen = list(bot.run(messages=[{"role": "user", "content": "帮我画张小狗在草地上的图片"}]))
            check_yields(seen)
            assert [chatml(r["messages"]) for r in vllm.requests] == [SEED_PROMPT_1, SEED_PROMPT_2]
        finally:
            bot.function_map["my_image_gen"].remove()  # type: ignore[attr-defined]
            bot.close()
