"""Pipelines in class and functional form; agents, functions and pipelines nest."""

from __future__ import annotations

import pytest

from msagent.agents import DialogAgent
from msagent.errors import ConfigError
from msagent.message import Msg
from msagent.pipelines import (
    ForLoopPipeline,
    IfElsePipeline,
    SequentialPipeline,
    SwitchPipeline,
    WhileLoopPipeline,
)
from msagent.pipelines.functional import (
    forlooppipeline,
    ifelsepipeline,
    placeholder,
    sequentialpipeline,
    switchpipeline,
    whilelooppipeline,
)


def shout(x: Msg) -> Msg:
    return Msg("shout", str(x.content).upper())


def count_up(x: Msg | None) -> Msg:
    return Msg("counter", (x.content if x else 0) + 1)


def test_class_and_functional_forms_agree() -> None:
    start = Msg("user", "hi", role="user")
    assert SequentialPipeline([shout, shout])(start).content == sequentialpipeline([shout], x=start).content == "HI"
    long = Msg("user", "a long message", role="user")
    is_long = lambda x: len(x.content) > 5  # noqa: E731
    assert IfElsePipeline(is_long, shout)(long).content == "A LONG MESSAGE"
    assert IfElsePipeline(is_long, shout)(start) is start  # the else branch defaults to placeholder
    assert ifelsepipeline(is_long, [shout, shout], placeholder, x=long).content == "A LONG MESSAGE"
    by_name = lambda x: x.name  # noqa: E731
    cases = {"user": shout, "other": [count_up]}
    assert SwitchPipeline(by_name, cases)(start).content == switchpipeline(by_name, cases, x=start).content == "HI"
    stranger = Msg("stranger", "x")
    assert SwitchPipeline(by_name, cases, default_operators=placeholder)(stranger) is stranger
    assert ForLoopPipeline(count_up, max_loop=5)(None).content == 5
    assert forlooppipeline(count_up, 10, break_func=lambda x: x.content >= 3).content == 3
    assert WhileLoopPipeline(count_up, condition_func=lambda i, x: i < 4)(None).content == 4
    assert whilelooppipeline([count_up, count_up], lambda i, x: (x.content if x else 0) < 5).content == 6
    assert whilelooppipeline(count_up, x=start) is start  # the default condition never holds


def test_agents_and_pipelines_nest(as_session) -> None:
    writer = DialogAgent("writer", sys_prompt="Write.", model_config_name="echo")
    editor = DialogAgent("editor", sys_prompt="Edit.", model_config_name="echo")
    inner = SequentialPipeline([writer, editor])
    outer = ForLoopPipeline(inner, max_loop=3, break_func=lambda x: x.content.count("echo") >= 4)
    assert outer.participants == [inner] and inner.participants == [writer, editor]
    out = outer(Msg("user", "go", role="user"))
    assert out.name == "editor" and out.content.count("echo") == 4  # two rounds, then the break held
    assert len(writer.memory.get_memory()) == 4  # go, its draft, the edit, its second draft


def test_bad_pipelines_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="got no operators"):
        sequentialpipeline([])
    with pytest.raises(ConfigError, match="takes a list of operators"):
        sequentialpipeline(shout)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="must be callable"):
        ifelsepipeline(lambda x: True, 42, x=None)  # type: ignore[arg-type]
