"""Bad input gets typed errors that name the role or field, locally and across actors."""

from __future__ import annotations

import pickle

import pytest

from environment import Environment
from msagent.errors import (
    AgentDisabledError,
    ConfigError,
    DuplicateRoleError,
    EmptySendToError,
    NoEnvironmentError,
    UnknownRoleError,
)
from msagent.llm import ScriptedModel
from msagent.runtime import Role, call, create_component, iter_call
from msagent.runtime.testing_agents import EchoAgent
from task_center import TaskCenter


def two_agents(mode):
    tc = mode.center()
    a = mode.agent("a", ScriptedModel(["from a"], cycle=True))
    b = mode.agent("b", ScriptedModel(["from b"], cycle=True))
    tc.add_agents([a, b])
    return tc, a, b


def test_unknown_recipient_is_an_error_naming_it(mode):
    tc, _, _ = two_agents(mode)
    with pytest.raises(UnknownRoleError, match="'zed'"):
        tc.send_task_request("hi", send_to="zed")
    with pytest.raises(UnknownRoleError, match="'zed'"):
        tc.send_task_request("hi", send_to=["a", "zed"])
    with pytest.raises(UnknownRoleError, match="'zed'"):
        list(tc.step(allowed_roles=["zed"]))
    assert call(tc.get_env(), "extract_all_history_message", None) == []  # nothing half-sent


def test_unknown_or_disabled_recipient_of_a_step_fails_before_any_model_runs(mode):
    tc, a, b = two_agents(mode)
    tc.send_task_request("hi", send_to="a")
    with pytest.raises(UnknownRoleError, match="'zed'"):
        list(tc.step(send_to="zed"))
    with pytest.raises(UnknownRoleError, match="'zed'"):
        list(tc.run(send_to=["b", "zed"]))
    tc.disable_agent("b")
    with pytest.raises(AgentDisabledError, match="'b'"):
        list(tc.step(send_to="b"))
    assert mode.prompts(a) == [] and mode.prompts(b) == []
    assert tc.notified_roles() == ["a"]  # the task is still waiting
    # an agent stepped on its own finds out when it publishes: the error names the role and
    # its mail stays unacknowledged, so the next step sees it again
    with pytest.raises(UnknownRoleError, match="'zed'"):
        list(iter_call(a, "step", send_to="zed"))
    assert tc.notified_roles() == ["a"]
    assert call(tc.get_env(), "extract_all_history_message", None)[-1].content == "hi"
    tc.enable_agent("b")
    assert [f.split(":")[0] for f in tc.step(send_to="b")] == ["a", "a"]
    assert [m.content for m in call(tc.get_env(), "extract_message_by_role", "b")] == ["from a"]


def test_empty_send_to_is_a_typed_error(mode):
    tc, a, _ = two_agents(mode)
    for bad in ("", [], "  ", ["a", ""], None):
        with pytest.raises(EmptySendToError):
            tc.send_task_request("hi", send_to=bad)
    with pytest.raises(EmptySendToError):
        list(tc.step(task="hi", send_to=[]))
    with pytest.raises(EmptySendToError):
        list(iter_call(a, "step", send_to=""))


def test_duplicate_role_is_rejected(mode):
    tc, a, _ = two_agents(mode)
    assert tc.add_agents([a]) == ["a"]  # the same agent again is not a duplicate
    assert tc.get_roles() == ["a", "b"]
    twin = create_component(
        EchoAgent, name="a2", role="a", remote=mode.remote, prefix_name=mode.prefix, llm=ScriptedModel(["x"])
    )
    with pytest.raises(DuplicateRoleError, match="'a'"):
        tc.add_agents([twin])
    c1 = mode.agent("c1", ScriptedModel(["x"]), role="c")
    c2 = mode.agent("c2", ScriptedModel(["x"]), role="c")
    with pytest.raises(DuplicateRoleError, match="'c'"):
        tc.add_agents([c1, c2])


def test_disabled_agent_gets_no_mail_and_cannot_be_addressed(mode):
    tc, a, b = two_agents(mode)
    tc.disable_agent("b")
    with pytest.raises(AgentDisabledError, match="'b'"):
        tc.send_task_request("hi", send_to="b")
    with pytest.raises(AgentDisabledError, match="'b'"):
        list(tc.step(allowed_roles=["b"]))
    frames = list(tc.step(task="to all"))
    assert {f.split(":")[0] for f in frames} == {"a"}
    assert tc.speaker_candidates() == ["a"]
    tc.enable_agent("b")
    tc.send_task_request("now b", send_to="b")
    assert {f.split(":")[0] for f in tc.step()} == {"b"}
    assert mode.prompts(b)[0][-1] == ("user", "user_requirement: now b")


def test_stepping_without_an_environment(mode):
    lonely = mode.agent("lonely", ScriptedModel(["x"]))
    with pytest.raises(NoEnvironmentError, match="lonely"):
        list(iter_call(lonely, "step"))


def test_local_and_remote_parts_do_not_mix(ray_cluster):
    tc = TaskCenter(remote=False)
    remote_agent = create_component(EchoAgent, name="mixed", remote=True, prefix_name="mix", llm=ScriptedModel(["x"]))
    with pytest.raises(ConfigError, match="remote"):
        tc.add_agents([remote_agent])


@pytest.mark.parametrize("bad", ["", " a", "all", "a:b", "x" * 129, "tab\there"])
def test_invalid_role_names(bad):
    with pytest.raises(ConfigError):
        Role(bad)
    with pytest.raises(ConfigError):
        Environment(durable=False).register_roles([bad])


def test_bad_configuration_values():
    with pytest.raises(ConfigError, match="policy"):
        TaskCenter(policy="telepathy")
    with pytest.raises(ConfigError, match="human_input_mode"):
        EchoAgent(name="x", llm=ScriptedModel(["x"]), human_input_mode="SOMETIMES")
    with pytest.raises(ConfigError, match="role"):
        EchoAgent(llm=ScriptedModel(["x"]))
    with pytest.raises(ConfigError, match="prefix_name"):
        create_component(Environment, name="env", prefix_name="bad prefix!")
    env = Environment(durable=False)
    env.register_roles(["w"], watcher=True)
    with pytest.raises(DuplicateRoleError):
        env.register_roles(["w"], watcher=False)
    with pytest.raises(UnknownRoleError):
        env.read_mail("nobody")


def test_errors_pickle():
    for err in (
        UnknownRoleError("no role 'x'", role="x"),
        EmptySendToError("empty", field="send_to"),
        AgentDisabledError("disabled", role="b"),
        NoEnvironmentError("none", role="a"),
    ):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err) and back.details == err.details
