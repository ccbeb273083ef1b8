"""RolePlay's visible trace (Action / Action Input / Observation / Answer), run keywords that reach
the tools, and tool failures as observations."""

from __future__ import annotations

import json
from typing import Any

import pytest

from msagent.agents import RolePlay
from msagent.llm import LLMConfig, ScriptedModel, ScriptedTurn
from msagent.tools import BaseTool

CALL = {"name": "calculator", "arguments": {"expression": "6*7"}}
TRACE = (
    'Let me compute.\nAction: calculator\nAction Input: {"expression": "6*7"}\n'
    "Observation: <result>42</result>\nAnswer: It is 42."
)
# the same turn written by a model without native tools, in each prompt protocol
PROMPTED = {
    "react": 'Let me compute.\nAction: calculator\nAction Input: {"expression": "6*7"}\nObservation: made up',
    "qwen": 'Let me compute.\n✿FUNCTION✿: calculator\n✿ARGS✿: {"expression": "6*7"}\n✿RESULT✿: made up',
}


def test_trace_is_the_same_for_native_and_prompted_calls() -> None:
    native = ScriptedModel([ScriptedTurn(text="Let me compute.", tool_calls=[CALL]), "It is 42."])
    assert "".join(RolePlay(function_list=["calculator"], llm=native).run("6*7?")) == TRACE
    for protocol, text in PROMPTED.items():
        cfg = LLMConfig(model="s", model_server="scripted", native_tool_calling=False, fncall_prompt=protocol)
        model = ScriptedModel([text, "It is 42."], config=cfg)
        bot = RolePlay(function_list=["calculator"], llm=model)
        assert "".join(bot.run("6*7?")) == TRACE, protocol
        assert bot.last_run.answer == "It is 42."


def test_a_turn_without_calls_is_its_text_alone() -> None:
    bot = RolePlay(function_list=["calculator"], llm=ScriptedModel(["Just text, no tools."]))
    assert "".join(bot.run("hi")) == "Just text, no tools."
    assert bot.reply_of_run("Just text, no tools.") == "Just text, no tools."


class Recorder(BaseTool):
    name = "recorder"
    parameters = [{"name": "what", "type": "string", "required": True}]

    def __init__(self, cfg: dict | None = None) -> None:
        super().__init__(cfg)
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def call(self, params: str, **kwargs: Any) -> str:
        self.seen.append((params, kwargs))
        if json.loads(params)["what"] == "crash":
            raise RuntimeError("the recorder broke")
        return "recorded"


def test_run_keywords_reach_the_tools_and_a_raising_tool_is_an_observation() -> None:
    tool = Recorder()
    calls = [{"name": "recorder", "arguments": {"what": "crash"}}, {"name": "recorder", "arguments": "{'what': 'x',}"}]
    model = ScriptedModel([ScriptedTurn(tool_calls=calls), "Done."])
    bot = RolePlay(function_list=[tool], llm=model)
    text = "".join(bot.run("go", dashscope_api_key="sk-abc", temperature=0.5, max_turns=3))
    assert "Observation: <result>Error: RuntimeError: the recorder broke</result>" in text
    assert text.endswith("Observation: <result>recorded</result>\nAnswer: Done.")
    # the tool got JSON text (normalised from JSON5) and the run's keyword, not the settings
    assert tool.seen == [('{"what": "crash"}', {"dashscope_api_key": "sk-abc"}),
                         ('{"what": "x"}', {"dashscope_api_key": "sk-abc"})]  # fmt: skip
    assert model.settings_seen[0].temperature == 0.5


@pytest.mark.parametrize("parallel", [True, False])
def test_parallel_tool_calls_default_and_opt_out(parallel: bool) -> None:
    two = ScriptedTurn(tool_calls=[CALL, {"name": "calculator", "arguments": {"expression": "1+1"}}])
    bot = RolePlay(function_list=["calculator"], llm=ScriptedModel([two, "ok"]))
    kwargs = {} if parallel else {"parallel_tool_calls": False}
    text = "".join(bot.run("two", **kwargs))
    assert text.count("Action: calculator") == (2 if parallel else 1)
