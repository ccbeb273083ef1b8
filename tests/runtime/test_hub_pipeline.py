"""MsgHub and the sequential pipeline, thin layers over Environment routing."""

from __future__ import annotations

import pytest

from environment import MsgHub, sequential_pipeline
from msagent.errors import UnknownRoleError
from msagent.llm import ScriptedModel
from msagent.runtime import call


def test_msghub_broadcasts_among_participants_only(mode):
    tc = mode.center()
    a = mode.agent("a", ScriptedModel(["a speaks"], cycle=True))
    b = mode.agent("b", ScriptedModel(["b speaks"], cycle=True))
    c = mode.agent("c", ScriptedModel(["c speaks"], cycle=True))
    outsider = mode.agent("outsider", ScriptedModel(["?"], cycle=True))
    tc.add_agents([a, b, c, outsider])
    env = tc.get_env()
    with MsgHub(env, [a, b], announcement="welcome to the hub") as hub:
        assert hub.participants == ["a", "b"]
        assert "".join(f.split(": ", 1)[1] for f in hub.speak(a)) == "a speaks"
        hub.add(c)
        list(hub.speak(b))
        hub.delete(a)
        hub.broadcast("only c hears this", sender="b")
    assert [m.content for m in call(env, "extract_message_by_role", "outsider")] == []
    assert [m.content for m in call(env, "extract_message_by_role", "a")] == ["b speaks"]
    assert [m.content for m in call(env, "extract_message_by_role", "c")] == ["b speaks", "only c hears this"]
    assert mode.prompts(a)[0][-1] == ("user", "user_requirement: welcome to the hub")
    assert mode.prompts(b)[0][-1] == ("user", "user_requirement: welcome to the hub\na: a speaks")
    with pytest.raises(UnknownRoleError, match="nobody"):
        MsgHub(env, ["nobody"])


def test_sequential_pipeline_passes_each_reply_to_the_next_agent(mode):
    tc = mode.center()
    writer = mode.agent("writer", ScriptedModel(["draft"], cycle=True))
    editor = mode.agent("editor", ScriptedModel(["edited draft"], cycle=True))
    critic = mode.agent("critic", ScriptedModel(["fine"], cycle=True))
    tc.add_agents([writer, editor, critic])
    frames = list(sequential_pipeline([writer, editor, critic], task="write a poem", final_send_to="writer"))
    assert [f.split(":")[0] for f in frames] == ["writer", "editor", "editor", "critic"]
    assert mode.prompts(writer)[0][-1] == ("user", "user_requirement: write a poem")
    assert mode.prompts(editor)[0][-1] == ("user", "writer: draft")
    assert mode.prompts(critic)[0][-1] == ("user", "editor: edited draft")
    assert tc.notified_roles() == ["writer"]
