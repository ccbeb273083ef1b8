"""Qwen-Agent's ``Assistant``: growing response lists, parallel calls, history in both message
forms, knowledge from ``files=``, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from msagent.agents import Assistant
from msagent.errors import ConfigError
from msagent.llm import LLMConfig, ScriptedModel, ScriptedTurn
from msagent.schemas import Message
from msagent.tools import BaseTool

TWO_CALLS = ScriptedTurn(
    tool_calls=[
        {"name": "calculator", "arguments": {"expression": "6*7"}},
        {"name": "calculator", "arguments": {"expression": "2**5"}},
    ]
)


def shapes(responses: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple("call" if "function_call" in m else m["role"] for m in responses)


def test_parallel_calls_give_call_and_result_pairs_then_the_answer() -> None:
    model = ScriptedModel([TWO_CALLS, "They are 42 and 32."])
    bot = Assistant(llm=model, function_list=["calculator"])
    seen = list(bot.run(messages=[{"role": "user", "content": "6*7 and 2**5?"}]))
    final = seen[-1]
    assert final == [
        {"role": "assistant", "content": "", "function_call": {"name": "calculator", "arguments": '{"expression": "6*7"}'}},
        {"role": "assistant", "content": "", "function_call": {"name": "calculator", "arguments": '{"expression": "2**5"}'}},
        {"role": "function", "content": "42", "name": "calculator"},
        {"role": "function", "content": "32", "name": "calculator"},
        {"role": "assistant", "content": "They are 42 and 32."},
    ]
    # the shapes grow in order: calls, results, then the answer chunk by chunk
    order = [shapes(r) for r in seen]
    assert order[:4] == [("call",), ("call", "call"), ("call", "call", "function"), ("call", "call", "function", "function")]
    answers = [r[-1]["content"] for r in seen[4:]]
    assert answers == ["They", "They are", "They are 42", "They are 42 and", "They are 42 and 32."]
    # the model saw Qwen-Agent's default system message and both results
    second = model.seen[1]
    assert second[0].content == "You are a helpful assistant."
    assert [m.content for m in second if m.role == "tool"] == ["42", "32"]


def test_run_nonstream_and_history_in_both_forms() -> None:
    model = ScriptedModel(["Sure: 42."], cycle=True)
    bot = Assistant(llm=model, system_message="Be brief.")
    history: list[Any] = [
        {"role": "system", "content": "Use metric units."},
        {"role": "user", "content": "6*7?"},
        {"role": "assistant", "content": "", "function_call": {"name": "calculator", "arguments": '{"expression": "6*7"}'}},
        {"role": "function", "name": "calculator", "content": "42"},
        {"role": "assistant", "content": "It is 42."},
        {"role": "user", "content": [{"text": "and "}, {"text": "again?"}]},
    ]
    assert bot.run_nonstream(history) == [{"role": "assistant", "content": "Sure: 42."}]
    sent = model.seen[-1]
    assert sent[0].content == "Be brief.\n\nUse metric units."
    assert [m.role for m in sent] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[3].tool_call_id == sent[2].tool_calls[0].id and sent[-1].content == "and again?"  # type: ignore[index]
    as_objects = [Message(role="user", content="6*7?")]
    assert bot.run_nonstream(as_objects) == [{"role": "assistant", "content": "Sure: 42."}]


class Boom(BaseTool):
    name = "boom"
    parameters = [{"name": "x", "type": "string", "required": True}]

    def call(self, params: str, **kwargs: Any) -> str:
        raise RuntimeError(f"boom with {json.loads(params)['x']} and {sorted(kwargs)}")


def test_a_raising_tool_is_a_function_result_and_run_keywords_reach_it() -> None:
    model = ScriptedModel([ScriptedTurn(tool_calls=[{"name": "boom", "arguments": {"x": "1"}}]), "It failed."])
    final = Assistant(llm=model, function_list=[Boom()]).run_nonstream([{"role": "user", "content": "go"}], api_key="k")
    expected = "Error: RuntimeError: boom with 1 and ['api_key', 'messages']"
    assert final[1] == {"role": "function", "content": expected, "name": "boom"}
    assert final[-1] == {"role": "assistant", "content": "It failed."}


class Recorder(BaseTool):
    """A Qwen-Agent style tool that reads the conversation it is called in (``kwargs['messages']``)."""

    name = "recorder"
    parameters = [{"name": "x", "type": "string", "required": True}]

    def __init__(self) -> None:
        super().__init__()
        self.got: list[list[dict[str, Any]]] = []

    def call(self, params: str, **kwargs: Any) -> str:
        self.got.append(kwargs["messages"])
        return f"{json.loads(params)['x']} after {len(kwargs['messages'])} messages"


def test_tools_get_the_conversation_so_far_as_messages_like_qwen_agent() -> None:
    first = ScriptedTurn(tool_calls=[{"name": "recorder", "arguments": {"x": "a"}}])
    second = ScriptedTurn(tool_calls=[{"name": "recorder", "arguments": {"x": "b"}}])
    tool = Recorder()
    question = {"role": "user", "content": "go"}
    final = Assistant(llm=ScriptedModel([first, second, "done"]), function_list=[tool]).run_nonstream([question])
    call_a = {"role": "assistant", "content": "", "function_call": {"name": "recorder", "arguments": '{"x": "a"}'}}
    call_b = {"role": "assistant", "content": "", "function_call": {"name": "recorder", "arguments": '{"x": "b"}'}}
    result_a = {"role": "function", "content": "a after 2 messages", "name": "recorder"}
    assert tool.got == [[question, call_a], [question, call_a, result_a, call_b]]
    assert final[-2:] == [{"role": "function", "content": "b after 4 messages", "name": "recorder"},
                          {"role": "assistant", "content": "done"}]  # fmt: skip


def test_files_feed_knowledge_retrieval(msagent_data_dir: Path, tmp_path: Path) -> None:
    doc = tmp_path / "QA.txt"
    doc.write_text("高德天气API申请\n\n在高德开放平台注册账号并创建应用，即可申请天气 API Key。\n\nCats sleep a lot.")
    model = ScriptedModel(["注册账号并创建应用。"])
    bot = Assistant(llm=model, files=[str(doc)])
    assert bot.run_nonstream([{"role": "user", "content": "高德天气API申请"}])[-1]["content"] == "注册账号并创建应用。"
    system = model.seen[0][0].content
    assert system.startswith("You are a helpful assistant.\n\n# 知识库\n\n## 来自 [文件](QA.txt) 的内容：\n\n```\n")
    assert "即可申请天气 API Key" in system
    with pytest.raises(ConfigError, match="not a readable file"):
        Assistant(llm=model, files=[str(tmp_path / "missing.txt")])
    with pytest.raises(ConfigError, match="URL"):
        Assistant(llm=model, files=["https://example.com/a.pdf"])


def test_prompted_model_calls_one_at_a_time_unless_parallel_is_asked() -> None:
    text = '✿FUNCTION✿: calculator\n✿ARGS✿: {"expression": "1+1"}\n✿FUNCTION✿: calculator\n✿ARGS✿: {"expression": "2+2"}'
    for generate_cfg, calls in (({}, 1), ({"parallel_function_calls": True}, 2)):
        cfg = LLMConfig.model_validate({"model": "s", "model_server": "scripted", "native_tool_calling": False,
                                        "fncall_prompt": "qwen", "generate_cfg": generate_cfg})  # fmt: skip
        model = ScriptedModel([text, "done"], config=cfg)
        final = Assistant(llm=model, function_list=["calculator"]).run_nonstream([{"role": "user", "content": "x"}])
        assert [m["role"] for m in final].count("function") == calls
        assert ("并行" in model.seen[0][0].content or "in parallel" in model.seen[0][0].content) == (calls == 2)


def test_bad_messages_are_config_errors() -> None:
    bot = Assistant(llm=ScriptedModel(["x"], cycle=True))
    for bad, needle in (
        ([], "messages is empty"),
        ([{"role": "robot", "content": "x"}], "role 'robot'"),
        (["just text"], "must be a dict"),
        ([{"role": "user", "content": [{"image": "a.png"}]}], "only text items"),
        ([{"role": "assistant", "content": "", "function_call": {"arguments": "{}"}}], "needs a 'name'"),
    ):
        with pytest.raises(ConfigError, match=needle):
            bot.run_nonstream(bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_turns"):
        Assistant(llm=ScriptedModel(["x"]), max_turns=0)
