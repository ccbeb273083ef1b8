"""msghub semantics on the Environment: who hears what, add/delete/broadcast, nesting, the log."""

from __future__ import annotations

import pytest

import msagent
from environment import Environment
from msagent import msghub
from msagent.agents import DialogAgent
from msagent.errors import ConfigError, DuplicateRoleError
from msagent.message import Msg
from msagent.runtime.calls import call
from msagent.schemas import USER_REQUIREMENT, Message


def _agents(*names: str) -> list[DialogAgent]:
    return [DialogAgent(n, sys_prompt=f"You are {n}.", model_config_name="echo") for n in names]


def heard(agent: DialogAgent) -> list[str]:
    return [m.to_str() for m in agent.memory.get_memory()]


def test_announcement_replies_broadcast_add_delete(as_session) -> None:
    a, b, c, d = _agents("a", "b", "c", "d")
    with msghub([a, b, c], announcement=Msg("Host", "Topic: tea", role="system")) as hub:
        assert heard(a) == heard(b) == heard(c) == ["Host: Topic: tea"]  # local participants hear at once
        a()
        assert heard(b)[-1] == "a: echo[Topic: tea]" and heard(a)[-1] == "a: echo[Topic: tea]"
        hub.delete(b)
        c()
        hub.add(d)
        hub.broadcast([Msg("Host", "one"), Msg("c", "from c by the host")])
        d()
    assert heard(b) == ["Host: Topic: tea", "a: echo[Topic: tea]"]  # left before c spoke
    assert heard(c)[-2:] == ["Host: one", heard(d)[-1]]  # not its own words back
    assert heard(d)[:2] == ["Host: one", "c: from c by the host"]  # joined: only what came after
    assert heard(a)[-3:] == ["Host: one", "c: from c by the host", heard(d)[-1]]
    assert not b._hubs and not d._hubs  # out of the hub: calling it no longer broadcasts
    before = heard(a)
    b()
    assert heard(a) == before


def test_hubs_nest_and_an_agent_speaks_to_its_innermost(as_session) -> None:
    wolf1, wolf2, villager = _agents("wolf1", "wolf2", "villager")
    with msghub([wolf1, wolf2, villager]):
        with msghub([wolf1, wolf2]):
            wolf1(Msg("Moderator", "Night falls."))
        villager()
    assert "wolf1: echo[Moderator: Night falls.]" in heard(wolf2)
    assert not any(line.startswith("wolf1") for line in heard(villager))
    assert heard(wolf1)[-1].startswith("villager: ")


def test_the_hub_log_is_the_runtime_environment(as_session) -> None:
    env = Environment(name="shared", durable=False)
    env.register_roles(["planner"])
    a, b = _agents("a", "b")
    with msghub([a, b], env=env):
        # a task from the rest of the runtime, addressed to 'a', arrives as a Msg when a speaks
        env.store_message_from_role(
            USER_REQUIREMENT, Message(role=USER_REQUIREMENT, content="Plan a picnic.", send_to="a")
        )
        out = a()
    assert out.content == "echo[user_requirement: Plan a picnic.]"
    history = [(m.sent_from, m.send_to, m.content) for m in env.extract_all_history_message(None)]
    assert history == [("user_requirement", "a", "Plan a picnic."), ("a", ["b"], out.content)]
    assert env.get_notified_roles() == []  # every participant's mail was read and acknowledged
    assert call(env, "read_mail", "planner") == []  # not a participant: nothing addressed to it


def test_bad_hub_use_is_a_clear_error(as_session) -> None:
    a, b = _agents("a", "b")
    with pytest.raises(DuplicateRoleError, match="two msghub participants are named 'a'"):
        msghub([a, _agents("a")[0]])
    with pytest.raises(ConfigError, match="participants are agents"):
        msghub([a, "b"])  # type: ignore[list-item]
    hub = msghub([a, b])
    with pytest.raises(ConfigError, match="not open"):
        hub.broadcast(Msg("Host", "hi"))
    with hub, pytest.raises(ConfigError, match="'c' is not a participant"):
        hub.delete(_agents("c")[0])


def test_a_lone_participant_is_logged_and_heard_by_none(as_session) -> None:
    (solo,) = _agents("solo")
    with msghub([solo]):
        solo()
    rows = msagent.agentscope.transcript()
    assert [(r["from"], r["send_to"]) for r in rows] == [("solo", "all")]
    assert rows[0]["msg"]["content"] == "echo[You are solo.]"


def test_consecutive_hubs_share_one_environment_and_reach_only_their_participants(as_session) -> None:
    a, b, c = _agents("a", "b", "c")
    with msghub([a, b, c]):
        a()
    with msghub([b, c]):  # the same Environment again: a's role is disabled now
        b()
    with msghub([a, c]):
        c()
    assert len(msagent.agentscope.session.current().envs()) == 1
    assert [m.name for m in a.memory.get_memory()] == ["a", "c"]
    assert [m.name for m in b.memory.get_memory()] == ["a", "b"]
    assert [m.name for m in c.memory.get_memory()] == ["a", "b", "c"]
    with msghub([a]), msghub([b, c]) as inner:  # open at once: each its own Environment
        assert inner.env is not None
        c()
    assert len(msagent.agentscope.session.current().envs()) == 2
    assert [m.name for m in b.memory.get_memory()][-1] == "c" and a.memory.get_memory()[-1].name == "c"
