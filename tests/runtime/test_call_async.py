"""``call_async``: reads sent together give the same answers (and errors) as ``call``, in both modes;
a Task Center choosing speakers with its reads in flight picks the same roles."""

from __future__ import annotations

import pytest

from environment import Environment
from msagent.errors import UnknownRoleError
from msagent.llm import ScriptedModel
from msagent.runtime import call, create_component
from msagent.runtime.calls import call_async


def test_answers_and_errors_match_call(mode):
    env = create_component(Environment, "env", remote=mode.remote, prefix_name=mode.prefix, force_new=True)
    call(env, "register_roles", ["a", "b"])
    call(env, "store_message_from_role", "a", "hello")
    pending = [call_async(env, "last_seq"), call_async(env, "get_notified_roles"), call_async(env, "read_mail", "zed")]
    assert pending[0].result() == call(env, "last_seq") == 1
    assert pending[1].result() == call(env, "get_notified_roles") == ["b"]
    with pytest.raises(UnknownRoleError, match="'zed'"):
        pending[2].result()


def test_a_round_chooses_from_fresh_reads(mode):
    tc = mode.center()
    a = mode.agent("a", ScriptedModel(["from a"], cycle=True))
    b = mode.agent("b", ScriptedModel(["from b"], cycle=True))
    tc.add_agents([a, b])
    tc.send_task_request("hi", send_to="a")
    assert {f.split(":")[0] for f in tc.step()} == {"a"}
    tc.disable_agent("b")
    assert list(tc.step()) == []  # b has mail from a but is disabled
    tc.enable_agent("b")
    tc.set_user_agent("b")
    assert list(tc.step()) == [] and tc.waiting_for_human() == ["b"]
    assert list(tc.step(user_response="typed")) == ["b: typed"]
