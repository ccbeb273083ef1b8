"""RolePlay: every tool call of a turn runs, failures reach the model, turn cap, prompts, settings."""

from __future__ import annotations

import json

import pytest

from msagent.agents import Agent, RolePlay
from msagent.errors import ConfigError, ToolNotFoundError
from msagent.llm import FunctionModel, ScriptedModel, ScriptedTurn
from msagent.schemas import Message, ToolSpec
from msagent.tools import BaseTool


def calc(*expressions: str, text: str = "") -> ScriptedTurn:
    calls = [{"name": "calculator", "arguments": {"expression": e}} for e in expressions]
    return ScriptedTurn(text=text, tool_calls=calls)


def test_every_call_of_a_turn_runs_and_all_results_go_back() -> None:
    model = ScriptedModel([calc("6 * 7", "2 ** 5", "10 - 3", text="Computing."), "Done."])
    bot = RolePlay(function_list=["calculator"], llm=model)
    text = "".join(bot.run("three sums please"))
    # the stream shows the tool work as ModelScope-Agent does; the answer is the last turn's text
    assert text == (
        'Computing.\nAction: calculator\nAction Input: {"expression": "6 * 7"}\n'
        'Action: calculator\nAction Input: {"expression": "2 ** 5"}\n'
        'Action: calculator\nAction Input: {"expression": "10 - 3"}\n'
        "Observation: <result>42</result>\nObservation: <result>32</result>\nObservation: <result>7</result>\n"
        "Answer: Done."
    )
    assert bot.last_run.answer == "Done."
    second = model.seen[1]
    assistant, *tools = second[-4:]
    assert assistant.role == "assistant" and [c.function.name for c in assistant.tool_calls or []] == ["calculator"] * 3
    assert [(t.role, t.content) for t in tools] == [("tool", "42"), ("tool", "32"), ("tool", "7")]
    # each result answers its own call, in the order requested
    assert [t.tool_call_id for t in tools] == [c.id for c in assistant.tool_calls or []]
    assert bot.last_run.tool_calls == 3 and bot.last_run.model_turns == 2


def test_unknown_tool_and_bad_arguments_are_observations_and_the_model_recovers() -> None:
    def fn(messages: list[Message], tools: list[ToolSpec]) -> ScriptedTurn | str:
        last = messages[-1]
        if last.role == "user":
            return ScriptedTurn(
                tool_calls=[
                    {"name": "weather", "arguments": {"city": "Paris"}},
                    {"name": "calculator", "arguments": {"expr": "1+1"}},
                    {"name": "calculator", "arguments": "{not json"},
                ]
            )
        errors = [m.content for m in messages if m.role == "tool"]
        if len(errors) == 3:
            return calc("1+1")
        return f"recovered after {len(errors) - 1} errors: {errors[-1]}"

    model = FunctionModel(fn)
    bot = RolePlay(function_list=["calculator"], llm=model)
    text = "".join(bot.run("hi"))
    assert text.endswith("Answer: recovered after 3 errors: 2")
    assert text.count("Observation: <result>Error: ") == 3 and "Action Input: {not json" in text
    observations = [m.content for m in bot.last_run.messages if m.role == "tool"]
    assert observations[0].startswith("Error: ") and "weather" in observations[0] and "calculator" in observations[0]
    assert observations[1].startswith("Error: ") and "expression" in observations[1]
    assert observations[2].startswith("Error: ")
    assert observations[3] == "2"


def test_turn_cap_ends_with_a_note_not_a_crash() -> None:
    model = ScriptedModel([calc("1+1")], cycle=True)
    bot = RolePlay(function_list=["calculator"], llm=model, max_turns=3)
    text = "".join(bot.run("loop forever"))
    assert model.calls_made == 3
    assert "max_turns" in text and bot.last_run.hit_turn_cap
    # every call that was requested got its result: the transcript stays valid
    calls = [c for m in bot.last_run.messages for c in m.tool_calls or []]
    results = [m for m in bot.last_run.messages if m.role == "tool"]
    assert [r.tool_call_id for r in results] == [c.id for c in calls]
    assert "".join(bot.run("again", max_turns=1)).count("max_turns") == 1
    with pytest.raises(ConfigError):
        RolePlay(llm=model, max_turns=0)


def test_instruction_text_and_dict_knowledge_and_tools_in_the_system_prompt() -> None:
    model = ScriptedModel(["ok"], cycle=True)
    RolePlay(llm=model, instruction="Speak like a pirate.", name="Jack", description="a captain").run("x").__next__()
    system = model.seen[-1][0]
    assert system.role == "system"
    assert "You are Jack. a captain" in system.content and "Speak like a pirate." in system.content

    role = {"name": "Alice", "description": "a curious girl", "instruction": "Ask questions.", "mood": "happy"}
    bot = RolePlay(function_list=["calculator"], llm=model, instruction=role)
    assert bot.name == "Alice" and bot.role == "Alice"
    "".join(bot.run("x", knowledge="The rabbit is late."))
    system = model.seen[-1][0].content
    for expected in ("You are Alice. a curious girl", "Ask questions.", "mood: happy", "The rabbit is late.", "- calculator:"):
        assert expected in system
    # no name given: no made-up persona
    "".join(RolePlay(llm=model).run("x"))
    assert "You are" not in model.seen[-1][0].content


def test_keys_never_enter_prompts() -> None:
    seen: list[str] = []

    def fn(messages: list[Message], tools: list[ToolSpec]) -> str:
        seen.append(json.dumps([m.model_dump() for m in messages]))
        return "fine"

    from msagent.llm import LLMConfig

    model = FunctionModel(fn, config=LLMConfig(model="f", model_server="function", api_key="sk-secret-123"))
    "".join(RolePlay(llm=model, instruction="hi").run("q"))
    assert seen and "sk-secret-123" not in seen[0]


def test_per_call_settings_reach_the_model() -> None:
    model = ScriptedModel([calc("1+1"), "two"])
    bot = RolePlay(function_list=["calculator"], llm=model)
    "".join(bot.run("q", temperature=0.3, top_p=0.8, seed=7, max_tokens=50, stop=["END"], unrelated="x"))
    assert len(model.settings_seen) == 2  # both model turns of the run
    for s in model.settings_seen:
        assert (s.temperature, s.top_p, s.seed, s.max_tokens, s.stop) == (0.3, 0.8, 7, 50, ["END"])
        assert "unrelated" not in s.extra_fields()  # not a setting: it goes to the tools


def test_streaming_yields_several_chunks_as_they_come() -> None:
    model = ScriptedModel(["one two three four five"])
    chunks = list(RolePlay(llm=model).run("count"))
    assert len(chunks) == 5 and "".join(chunks) == "one two three four five"


def test_tool_items_and_cooperative_init() -> None:
    class Echo(BaseTool):
        name = "echo"
        description = "echo the text"
        parameters = [{"name": "text", "type": "string", "required": True}]

        def call(self, params: str | dict, **kwargs: object) -> str:
            return f"echo:{params}"  # the arguments arrive as JSON text

    model = ScriptedModel([ScriptedTurn(tool_calls=[{"name": "echo", "arguments": {"text": "hey"}}]), "ok"])
    bot = RolePlay(
        function_list=[Echo(), {"name": "calculator", "description": "math only"}], llm=model, colour="red"
    )
    assert bot.extra_kwargs == {"colour": "red"}
    assert {s.name: s.description for s in bot.tool_specs}["calculator"] == "math only"
    "".join(bot.run("q"))
    assert [m.content for m in bot.last_run.messages if m.role == "tool"] == ['echo:{"text": "hey"}']
    with pytest.raises(ToolNotFoundError):
        RolePlay(function_list=["no_such_tool"], llm=model)
    with pytest.raises(ConfigError):
        RolePlay(function_list=["calculator", "calculator"], llm=model)
    with pytest.raises(ConfigError):
        RolePlay(function_list=[42], llm=model)  # type: ignore[list-item]
    with pytest.raises(ConfigError):
        "".join(RolePlay().run("no llm"))
    with pytest.raises(TypeError):
        Agent()  # type: ignore[abstract]


def test_each_agent_has_its_own_state() -> None:
    a = RolePlay(function_list=["calculator"], llm=ScriptedModel(["a"]), name="A")
    b = RolePlay(llm=ScriptedModel(["b"]), name="B")
    assert list(a.function_map) == ["calculator"] and b.function_map == {}
    "".join(a.run("x"))
    assert b.last_run.messages == [] and a.last_run.messages[-1].content == "a"
