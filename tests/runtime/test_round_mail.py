"""A round's mail read in one Environment call (``read_round``) and handed to the agents: each
agent still gets exactly its own mail up to the round's start, and acknowledges it once."""

from __future__ import annotations

from environment import Environment
from msagent.llm import ScriptedModel
from msagent.runtime import call, create_component
from msagent.schemas import Message


def test_read_round_gives_each_role_its_mail_up_to_the_last_seq(mode):
    env = create_component(Environment, "env", remote=mode.remote, prefix_name=mode.prefix, force_new=True)
    call(env, "register_roles", ["a", "b", "c"])
    call(env, "store_message_from_role", "a", "to all")
    call(env, "store_message_from_role", "b", Message(role="b", content="to c only", send_to="c"))
    until, mail = call(env, "read_round", ["a", "b", "c", "zed"])
    assert until == 2
    assert {r: [(d.seq, d.message.content) for d in box] for r, box in mail.items()} == {
        "a": [],
        "b": [(1, "to all")],
        "c": [(1, "to all"), (2, "to c only")],
    }  # an unknown role is left out: its agent finds out when it reads its own mail
    call(env, "ack", "c", 2)
    assert call(env, "read_round", ["c"]) == (2, {"c": []})


def test_a_round_prompts_each_agent_with_its_own_mail_once(mode):
    tc = mode.center()
    agents = [mode.agent(n, ScriptedModel([f"{n} speaks"], cycle=True)) for n in ("a", "b", "c")]
    tc.add_agents(agents)
    tc.send_task_request("for a and b", send_to=["a", "b"])
    assert sorted({f.split(":")[0] for f in tc.step()}) == ["a", "b"]
    assert [p[-1] for p in mode.prompts(agents[0])] == [("user", "user_requirement: for a and b")]
    assert [p[-1] for p in mode.prompts(agents[1])] == [("user", "user_requirement: for a and b")]
    assert mode.prompts(agents[2]) == []
    # the replies of this round wait for the next one; the task was acknowledged, never seen again
    assert sorted({f.split(":")[0] for f in tc.step()}) == ["a", "b", "c"]
    assert mode.prompts(agents[0])[1][-1] == ("user", "b: b speaks")
    assert sorted(mode.prompts(agents[2])[0][-1][1].splitlines()) == ["a: a speaks", "b: b speaks"]
