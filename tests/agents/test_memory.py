"""Memory: trimming to a budget keeps whole turns (tool pairs intact), save/load, RolePlay's use."""

from __future__ import annotations

from pathlib import Path

import pytest

from msagent.agents import RolePlay
from msagent.errors import ConfigError
from msagent.llm import ScriptedModel, ScriptedTurn
from msagent.memory import Memory, estimate_tokens
from msagent.schemas import FunctionCall, Message, ToolCall


def tool_turn(i: int) -> list[Message]:
    call = ToolCall(function=FunctionCall(name="calculator", arguments=f'{{"expression": "{i} + {i}"}}'))
    return [
        Message(role="user", content=f"question {i} " + "x" * 40),
        Message(role="assistant", content="", tool_calls=[call]),
        Message(role="tool", content=str(2 * i), tool_call_id=call.id, name="calculator"),
        Message(role="assistant", content=f"answer {i}"),
    ]


def check_pairs(messages: list[Message]) -> None:
    """Every assistant tool call is answered by a following tool message, and no orphan results."""
    pending: list[str] = []
    for m in messages:
        if m.role == "tool":
            assert pending and m.tool_call_id == pending.pop(0)
        else:
            assert not pending, "a tool_calls message lost its results"
            pending = [c.id for c in m.tool_calls or []]
    assert not pending


def test_history_is_trimmed_to_the_budget_in_whole_turns() -> None:
    memory = Memory()
    for i in range(10):
        memory.add(tool_turn(i))
    assert len(memory) == 40 and memory.history() == memory.messages
    turn_size = sum(estimate_tokens(m) for m in tool_turn(9))
    for budget in (0, turn_size - 1, turn_size, turn_size * 3 + 5, 10_000):
        kept = memory.history(budget_tokens=budget)
        assert sum(estimate_tokens(m) for m in kept) <= budget
        assert len(kept) % 4 == 0 and (not kept or kept[0].role == "user")
        check_pairs(kept)
        if kept:
            assert kept[-1].content == "answer 9"  # the newest turns are the ones kept
    assert len(memory.history(budget_tokens=turn_size * 3 + 5)) == 12
    with pytest.raises(ConfigError):
        memory.history(budget_tokens=-1)


def test_save_load_round_trip_and_clear(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "mem.json"
    memory = Memory(path)
    memory.add(tool_turn(1))
    memory.add({"role": "user", "content": "plain dict"})
    assert memory.save() == path
    loaded = Memory(path).load()
    assert [m.model_dump() for m in loaded.messages] == [m.model_dump() for m in memory.messages]
    check_pairs(loaded.messages[:4])
    memory.clear()
    assert memory.history() == [] and len(Memory(path).load()) == 5
    Memory(tmp_path / "missing.json").load()  # a missing file is an empty memory
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError):
        Memory(tmp_path / "bad.json").load()
    with pytest.raises(ConfigError):
        Memory().save()


def test_named_memory_lives_in_the_data_dir(msagent_data_dir: Path) -> None:
    memory = Memory(name="bob/../x")
    memory.add(Message(role="user", content="hi"))
    path = memory.save()
    assert path.parent == msagent_data_dir / "memory" and path.name == "bob_.._x.json"


def test_role_play_keeps_and_uses_its_memory(tmp_path: Path) -> None:
    replies = [
        ScriptedTurn(tool_calls=[{"name": "calculator", "arguments": {"expression": "3*3"}}]),
        "nine",
        "I said nine.",
        "fresh",
    ]
    model = ScriptedModel(replies)
    path = tmp_path / "bot.json"
    bot = RolePlay(function_list=["calculator"], llm=model, storage_path=str(path))
    assert "".join(bot.run("3*3?")).endswith("Observation: <result>9</result>\nAnswer: nine")
    assert bot.last_run.answer == "nine"
    assert "".join(bot.run("what did you say?")) == "I said nine."
    third = model.seen[2]
    assert [m.role for m in third] == ["system", "user", "assistant", "tool", "assistant", "user"]
    check_pairs(third[1:])
    # saved after each run: a new agent on the same file continues the conversation
    again = RolePlay(llm=ScriptedModel(["ok"]), storage_path=str(path))
    assert [m.content for m in again.memory.messages if m.role == "user"] == ["3*3?", "what did you say?"]
    # an explicit history overrides memory and is not appended to it
    "".join(bot.run("new topic", history=[{"role": "user", "content": "earlier"}, Message(role="assistant", content="yes")]))
    assert [m.content for m in model.seen[3][1:]] == ["earlier", "yes", "new topic"]
    assert len(bot.memory.messages) == 6
    # a budget keeps only the newest turn
    small = RolePlay(llm=ScriptedModel(["x"]), memory=Memory(path).load(), history_budget_tokens=20)
    "".join(small.run("q"))
    assert [m.content for m in small.last_run.messages[1:-1]] == ["what did you say?", "I said nine.", "q"]


def test_long_memory_is_trimmed_by_default() -> None:
    """A long-lived agent's prompt stays bounded (the original sent its whole history every time)."""
    from msagent.agents.role_play import DEFAULT_HISTORY_BUDGET_TOKENS

    memory = Memory()
    for i in range(400):
        memory.add([Message(role="user", content=f"question {i} " + "x" * 200),
                    Message(role="assistant", content=f"answer {i} " + "y" * 200)])  # fmt: skip
    model = ScriptedModel(["fine"])
    bot = RolePlay(llm=model, memory=memory)
    "".join(bot.run("and now?"))
    prompt = model.seen[0]
    history = prompt[1:-1]
    assert 0 < sum(estimate_tokens(m) for m in history) <= DEFAULT_HISTORY_BUDGET_TOKENS
    assert history[-1].content.startswith("answer 399") and history[0].role == "user"
    assert len(memory.messages) == 802  # nothing is dropped from memory itself
