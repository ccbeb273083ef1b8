"""ReAct and Qwen prompt protocols through ChatModel.chat with a scripted model lacking native tools."""

from __future__ import annotations

import json

import pytest

from msagent.errors import ConfigError
from msagent.llm.base import ChatResult
from msagent.llm.config import LLMConfig
from msagent.llm.events import FinishEvent, LLMEvent, TextDelta, ToolCallEvent, Usage, UsageEvent
from msagent.llm.fake import ScriptedModel
from msagent.llm.fncall import get_protocol
from msagent.schemas import FunctionCall, Message, ToolCall, ToolSpec
from msagent.tools import call_tool, get_tool

TOOLS = [
    ToolSpec(
        name="weather",
        description="Weather of a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    ),
    get_tool("calculator").spec,
]
USER = [Message(role="user", content="weather in Paris and 2+2?")]

REACT = (
    "Thought: I need two tools.\n"
    "Action: weather\n"
    "Action Input: {'city': 'Paris',}\n"
    "Action: calculator\n"
    "Action Input: {\n  'expression': '2+2',\n}\n"
    "Observation: made up"
)
QWEN = (
    "Let me look.\n"
    "✿FUNCTION✿: weather\n"
    "✿ARGS✿: {'city': 'Paris',}\n"
    "✿FUNCTION✿: calculator\n"
    "✿ARGS✿: {\n  'expression': '2+2',\n}\n"
    "✿RESULT✿: made up"
)
TEXTS = {"react": REACT, "qwen": QWEN}
VISIBLE = {"react": "I need two tools.", "qwen": "Let me look."}


def model(protocol: str, *replies: str) -> ScriptedModel:
    cfg = LLMConfig(model="x", model_server="scripted", native_tool_calling=False, fncall_prompt=protocol)
    return ScriptedModel(list(replies), config=cfg)


def chat(protocol: str, text: str, **kw: object) -> ChatResult:
    return ChatResult.collect(model(protocol, text).chat(USER, tools=TOOLS, **kw))  # type: ignore[arg-type]


def raw_events(text: str, cuts: list[int]) -> list[LLMEvent]:
    bounds = [0, *cuts, len(text)]
    events: list[LLMEvent] = [
        TextDelta(text=text[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a
    ]
    return [*events, UsageEvent(usage=Usage(total_tokens=3)), FinishEvent(reason="stop")]


def calls_of(result: ChatResult) -> list[tuple[str, str]]:
    return [(c.function.name, c.function.arguments) for c in result.tool_calls]


@pytest.mark.parametrize("protocol", ["react", "qwen"])
def test_several_calls_with_json5_arguments(protocol: str) -> None:
    result = chat(protocol, TEXTS[protocol])
    assert calls_of(result) == [("weather", '{"city": "Paris"}'), ("calculator", '{"expression": "2+2"}')]
    assert result.text == VISIBLE[protocol]
    assert result.finish_reason == "tool_calls"
    assert result.usage.total_tokens > 0
    assert [call_tool(get_tool("calculator"), result.tool_calls[1])] == ["4"]


@pytest.mark.parametrize("protocol", ["react", "qwen"])
def test_split_at_every_index_gives_the_same_events(protocol: str) -> None:
    text = TEXTS[protocol].replace("made up", "") + " ignored"
    parser = get_protocol(protocol)
    whole = ChatResult.collect(parser.parse(raw_events(text, [])))
    assert len(whole.tool_calls) == 2
    for i in range(1, len(text)):
        for cuts in ([i], [i, min(i + 3, len(text) - 1)]):
            got = ChatResult.collect(parser.parse(raw_events(text, sorted(set(cuts)))))
            assert calls_of(got) == calls_of(whole), cuts
            assert got.text == whole.text, cuts
            assert got.finish_reason == "tool_calls"
            assert got.usage.total_tokens == 3


@pytest.mark.parametrize("protocol", ["react", "qwen"])
def test_final_answer_only_and_keyword_stripping(protocol: str) -> None:
    text = {
        "react": "Thought: I know this.\nFinal Answer: It is sunny.",
        "qwen": "✿THOUGHT✿: I know this.\n✿RETURN✿: It is sunny.",
    }[protocol]
    for i in range(len(text)):
        result = ChatResult.collect(get_protocol(protocol).parse(raw_events(text, [i] if i else [])))
        assert result.text == "I know this.\nIt is sunny."
        assert result.tool_calls == []
        assert result.finish_reason == "stop"


def test_text_before_a_call_streams_before_the_call_completes() -> None:
    parser = get_protocol("react")
    pieces = [
        "The weather",
        " in Paris, let me check.\nAct",
        "ion: weather\nAction In",
        "put: {'city': 'Par",
        "is'}",
    ]
    seen: list[LLMEvent] = []

    def source():  # type: ignore[no-untyped-def]
        for piece in pieces:
            yield TextDelta(text=piece)
            # everything visible so far must already be out before the next raw chunk is pulled
            text = "".join(e.text for e in seen if isinstance(e, TextDelta))
            if piece == pieces[1]:
                assert text == "The weather in Paris, let me check."
            assert not any(isinstance(e, ToolCallEvent) for e in seen)
        yield FinishEvent(reason="stop")

    for event in parser.parse(source()):
        seen.append(event)
    assert seen[0] == TextDelta(text="The weather")
    calls = [e for e in seen if isinstance(e, ToolCallEvent)]
    assert len(calls) == 1 and calls[0].call.function.arguments == '{"city": "Paris"}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Action: weather", [("weather", "{}")]),  # half a call: no Action Input
        ("Action: calculator\n2 + 2", [("calculator", "2 + 2")]),  # half a call carries what followed
        ("Action: weather\nAction Input: {city: 'Paris'", [("weather", "{city: 'Paris'")]),  # invalid
        ("Action: no_such_tool\nAction Input: {}", [("no_such_tool", "{}")]),
        ('Action: weather\nAction Input: ```json\n{"city": "Rome"}\n```', [("weather", '{"city": "Rome"}')]),
        ('Action: weather\nAction Input: {"city": "Rome"} I will wait.', [("weather", '{"city": "Rome"}')]),
        ('Action Input: {"a": 1}', [("", '{"a": 1}')]),
        (
            "Action: code_interpreter\nAction Input: ```py\nd = {'a': 1}\nprint(d)\n```",
            [("code_interpreter", "d = {'a': 1}\nprint(d)")],
        ),
    ],
)
def test_incomplete_and_invalid_calls_are_still_emitted(text: str, expected: list[tuple[str, str]]) -> None:
    result = chat("react", text)
    assert calls_of(result) == expected
    assert result.finish_reason == "tool_calls"


def test_incomplete_calls_give_readable_tool_errors() -> None:
    tools = {"weather": get_tool("current_time")}
    half = chat("react", "Action: calculator").tool_calls[0]
    assert call_tool(get_tool("calculator"), half).startswith(
        "Error: invalid arguments for tool 'calculator'"
    )
    bad = chat("react", "Action: calculator\nAction Input: {expression: ").tool_calls[0]
    assert "not valid JSON" in call_tool(get_tool("calculator"), bad)
    unknown = chat("react", "Action: nope\nAction Input: {}").tool_calls[0]
    assert call_tool(tools, unknown).startswith("Error: unknown tool 'nope'")


def test_parallel_false_keeps_one_call_and_says_so() -> None:
    m = model("react", REACT)
    result = ChatResult.collect(m.chat(USER, tools=TOOLS, parallel_tool_calls=False))
    assert calls_of(result) == [("weather", '{"city": "Paris"}')]
    system = m.seen[0][0].content
    assert "Call at most one tool at a time" in system
    assert "several" not in system


@pytest.mark.parametrize("protocol", ["react", "qwen"])
def test_system_prompt_describes_tools_and_tool_choice(protocol: str) -> None:
    m = model(protocol, "Final Answer: ok", "ok", "ok")
    sys_msg = Message(role="system", content="You are helpful.")
    list(m.chat([sys_msg, *USER], tools=TOOLS))
    list(m.chat(USER, tools=TOOLS, tool_choice="required"))
    list(m.chat(USER, tools=TOOLS, tool_choice="weather"))
    auto, required, named = (seen[0].content for seen in m.seen)
    assert auto.startswith("You are helpful.\n\n")
    assert [x.role for x in m.seen[0]] == ["system", "user"]
    names = {"react": "weather, calculator", "qwen": "weather,calculator"}[protocol]  # Qwen-Agent joins with ','
    assert json.dumps(TOOLS[0].parameters) in auto and names in auto
    assert "must call" not in auto
    assert "You must call at least one tool" in required
    assert "You must call the tool `weather`" in named
    assert {"react": "several", "qwen": "call N tools in parallel"}[protocol] in auto
    assert ("✿FUNCTION✿" in auto) == (protocol == "qwen")


def test_none_or_no_tools_sends_the_plain_conversation() -> None:
    m = model("react", "Hello there", "Hi again")
    assert ChatResult.collect(m.chat(USER, tools=TOOLS, tool_choice="none")).text == "Hello there"
    assert ChatResult.collect(m.chat(USER)).text == "Hi again"
    assert all(len(seen) == 1 and seen[0].role == "user" for seen in m.seen)


@pytest.mark.parametrize("protocol", ["react", "qwen"])
def test_history_with_tool_calls_round_trips(protocol: str) -> None:
    first = model(protocol, TEXTS[protocol])
    turn = ChatResult.collect(first.chat(USER, tools=TOOLS))
    history = [
        Message(role="system", content="Be brief."),
        *USER,
        Message(role="assistant", content=turn.text, tool_calls=turn.tool_calls),
        *(
            Message(
                role="tool", content=call_tool({"calculator": get_tool("calculator")}, c), tool_call_id=c.id
            )
            for c in turn.tool_calls
        ),
        Message(role="critic", content="be quick"),
    ]
    # ✿RETURN✿ is a stop word (as in Qwen-Agent): a Qwen model answers after the results directly
    final = {"react": "Final Answer: sunny, and 4", "qwen": "sunny, and 4"}[protocol]
    second = model(protocol, final)
    result = ChatResult.collect(second.chat(history, tools=TOOLS))
    assert result.text == "sunny, and 4" and result.finish_reason == "stop"
    sent = second.seen[0]
    assert [m.role for m in sent] == ["system", "user", "assistant", "user"]
    assert all(m.tool_calls is None and m.tool_call_id is None for m in sent)
    # the rendered assistant turn parses back to the same calls
    reparsed = ChatResult.collect(get_protocol(protocol).parse(raw_events(sent[2].content, [])))
    assert calls_of(reparsed) == calls_of(turn)
    if protocol == "react":
        assert sent[3].content.startswith("Observation: Error: unknown tool 'weather'")
        assert "\nObservation: 4\n\ncritic: be quick" in sent[3].content
    else:  # Qwen-Agent writes the results into the assistant's turn
        assert sent[2].content.startswith("Let me look.\n✿FUNCTION✿: weather\n✿ARGS✿: ")
        assert "\n✿RESULT✿: Error: unknown tool 'weather'" in sent[2].content
        assert sent[2].content.endswith("\n✿RESULT✿: 4\n✿RETURN✿: ") and sent[3].content == "critic: be quick"


def test_stop_keyword_in_stream_drops_the_made_up_result() -> None:
    text = 'Action: calculator\nAction Input: {"expression": "1"}\nObservation: 99\nFinal Answer: 99'
    events = list(get_protocol("react").parse(raw_events(text, [])))
    assert not any(isinstance(e, TextDelta) for e in events)
    assert isinstance(events[-1], FinishEvent) and events[-1].reason == "tool_calls"


def test_unknown_protocol_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="react"):
        get_protocol("xml")


def test_native_tool_calls_from_history_use_call_ids() -> None:
    call = ToolCall(id="call_1", function=FunctionCall(name="weather", arguments='{"city": "Oslo"}'))
    rendered = get_protocol("react").build_messages(
        [
            *USER,
            Message(role="assistant", tool_calls=[call]),
            Message(role="tool", content="rain", tool_call_id="call_1"),
        ],
        TOOLS,
        "auto",
        True,
    )
    assert rendered[2].content == 'Action: weather\nAction Input: {"city": "Oslo"}'
    assert rendered[3].content == "Observation: rain"


@pytest.mark.parametrize("protocol", ["react", "qwen"])
def test_one_character_chunks(protocol: str) -> None:
    text = TEXTS[protocol]
    got = ChatResult.collect(get_protocol(protocol).parse(raw_events(text, list(range(1, len(text))))))
    assert calls_of(got) == [("weather", '{"city": "Paris"}'), ("calculator", '{"expression": "2+2"}')]
    assert got.text == VISIBLE[protocol]


def test_echoed_call_text_in_history_is_rendered_once() -> None:
    call = ToolCall(function=FunctionCall(name="weather", arguments='{"city": "Oslo"}'))
    echoed = Message(
        role="assistant",
        content='Checking.\nAction: weather\nAction Input: {"city": "Oslo"}',
        tool_calls=[call],
    )
    rendered = get_protocol("react").build_messages([*USER, echoed], TOOLS, "auto", True)
    assert rendered[2].content == 'Checking.\nAction: weather\nAction Input: {"city": "Oslo"}'


def test_tool_choice_must_name_a_given_tool() -> None:
    with pytest.raises(ConfigError, match="tool_choice 'search' is not one of the given tools"):
        list(model("react", "x").chat(USER, tools=TOOLS, tool_choice="search"))


def test_keywords_inside_arguments_do_not_end_the_call() -> None:
    text = (
        'Action: code_interpreter\nAction Input: {"code": "print(\'Final Answer: 1 Action: x\')"}\n'
        "Action: calculator\nAction Input: {'expression': '1'}"
    )
    for i in range(1, len(text)):
        got = ChatResult.collect(get_protocol("react").parse(raw_events(text, [i])))
        assert calls_of(got) == [
            ("code_interpreter", json.dumps({"code": "print('Final Answer: 1 Action: x')"})),
            ("calculator", '{"expression": "1"}'),
        ]
        assert got.text == ""


@pytest.mark.parametrize("protocol", ["react", "qwen"])
def test_named_tool_choice_keeps_only_that_tool(protocol: str) -> None:
    """A prompt cannot force the named tool, so calls to other tools are dropped, as OpenAI promises."""
    named = chat(protocol, TEXTS[protocol], tool_choice="calculator")
    assert [c.function.name for c in named.tool_calls] == ["calculator"]
    assert json.loads(named.tool_calls[0].function.arguments) == {"expression": "2+2"}
    assert named.finish_reason == "tool_calls"
    other = ChatResult.collect(
        model(protocol, TEXTS[protocol].split("\n", 1)[0] + "\n" + TEXTS[protocol].split("\n")[1] + "\n"
              + TEXTS[protocol].split("\n")[2]).chat(USER, tools=TOOLS, tool_choice="calculator")
    )  # fmt: skip
    assert other.tool_calls == [] and other.finish_reason == "stop"
    events = list(model(protocol, TEXTS[protocol]).chat(USER, tools=TOOLS, tool_choice="calculator"))
    assert [e.index for e in events if isinstance(e, ToolCallEvent)] == [0]


def test_qwen_reply_continuing_after_return_drops_the_leading_colon() -> None:
    """Qwen-Agent's prompt ends a tool turn with '✿RETURN✿'; a model that goes on with ': answer'
    shows 'answer' (as Qwen-Agent strips it)."""
    for cuts in ([], [1], [2], [1, 2]):
        got = ChatResult.collect(get_protocol("qwen").parse(raw_events(": It is sunny.", cuts)))
        assert got.text == "It is sunny."
    assert ChatResult.collect(get_protocol("qwen").parse(raw_events("Note: it is sunny.", []))).text == "Note: it is sunny."
