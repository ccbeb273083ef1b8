"""``to_dist()`` on the session Ray cluster: same transcript as local, parallel independent agents,
ordered chains, errors where the value is read, typed errors for dead actors."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from as_helpers import chat_config, echo_reply

import msagent
from environment import Environment
from msagent import msghub
from msagent.agents import AgentBase, DialogAgent, DictDialogAgent, UserAgent
from msagent.agentscope import session
from msagent.agentscope.distributed import DistributedAgent, launch_server
from msagent.agentscope.placeholder import PlaceholderMsg
from msagent.errors import AgentDiedError, ConfigError, ModelError, UnknownModelConfigError
from msagent.message import Msg
from msagent.pipelines.functional import sequentialpipeline
from msagent.runtime import call, create_component
from msagent.testing import FakeOpenAIServer, FakeReply

pytestmark = pytest.mark.ray
CALL_S = 0.2


def slow_echo(body: dict[str, Any]) -> FakeReply:
    """The echo model taking CALL_S per answer; a message containing FAIL gets an HTTP 400."""
    last = str((body.get("messages") or [{}])[-1].get("content"))
    if "FAIL" in last:
        return FakeReply(status=400, error_message="the fake model refuses FAIL")
    return FakeReply(text=echo_reply(body), first_token_delay_s=CALL_S if "slow" in last else 0.0)


@pytest.fixture(scope="module")
def model_server(ray_cluster: None) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(handler=slow_echo) as server:
        yield server


@pytest.fixture(scope="module")
def dist(model_server: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    """One session for the module (actors start slowly on a shared 2-core box: tests share them)."""
    msagent.init(model_configs=[chat_config(model_server)], name="dist")
    yield model_server
    session.shutdown()


@pytest.fixture(scope="module")
def eight(dist: FakeOpenAIServer) -> list[DistributedAgent]:
    """Eight independent distributed agents, each in an actor of its own."""
    agents = [DialogAgent(name=f"a{i}", model_config_name="echo", to_dist=True) for i in range(8)]
    assert all(isinstance(a, DistributedAgent) for a in agents)
    return agents


@pytest.fixture(scope="module")
def shared(dist: FakeOpenAIServer) -> Any:
    return launch_server("shared", threads=8)


def ask(text: str) -> Msg:
    return Msg("user", text, role="user")  # a new id each time: memory keeps each question


def converse(make: Any, env: Any) -> dict[str, Any]:
    """One small program in AgentScope's style: a pipeline, a hub round with a broadcast, votes."""
    alice, bob, carol = (make(DialogAgent, name=n, sys_prompt=f"You are {n}.", model_config_name="echo")
                         for n in ("alice", "bob", "carol"))  # fmt: skip
    x = sequentialpipeline([alice, bob], x=Msg("user", "Pick a game.", role="user"))
    with msghub([alice, bob, carol], announcement=Msg("Host", "Discuss.", role="system"), env=env) as hub:
        for agent in (carol, alice, bob):
            x = agent(x)
        hub.broadcast(Msg("Host", "Vote now."))
        votes = [agent(Msg("Host", "Your vote?", role="user")).content for agent in (alice, bob, carol)]
    return {
        "replies": [x.content, *votes],
        "memories": {a.name: [m.to_str() for m in a.memory.get_memory()] for a in (alice, bob, carol)},
        "transcript": [(m.sent_from, m.send_to, m.content) for m in call(env, "extract_all_history_message", None)],
    }


def test_the_same_program_gives_the_same_transcript_locally_and_on_ray(dist: FakeOpenAIServer) -> None:
    local = converse(lambda cls, **kw: cls(**kw), Environment(name="local-run", durable=False))
    env = create_component(Environment, "remote-run", remote=True, prefix_name="dist-test", force_new=True)
    session.current().track(env)
    remote = converse(lambda cls, **kw: cls(**kw).to_dist(), env)
    assert remote == local
    assert len(local["transcript"]) == 8 and local["replies"][0].startswith("echo[")


def membership(make: Any) -> dict[str, list[str]]:
    """A hub left right after its last speaker, and one whose members change while a reply is
    still being written: who heard what must not depend on where the agents run."""
    a, b, c, d = (make(DialogAgent, name=n, sys_prompt=f"You are {n}.", model_config_name="echo")
                  for n in ("ha", "hb", "hc", "hd"))  # fmt: skip
    with msghub([a, b]):
        a(ask("slow: open"))
        b(ask("slow: answer"))  # the hub closes before this reply is written
    with msghub([a, c]) as hub:
        a(ask("slow: again"))
        hub.delete(c)  # c was in the hub when a spoke
        hub.add(d)  # d was not
        hub.broadcast(Msg("Host", "after"))
    return {agent.name: [m.to_str() for m in agent.memory.get_memory()] for agent in (a, b, c, d)}


def test_who_hears_a_reply_does_not_depend_on_where_agents_run(dist: FakeOpenAIServer) -> None:
    local = membership(lambda cls, **kw: cls(**kw))
    remote = membership(lambda cls, **kw: cls(**kw).to_dist())
    assert remote == local
    assert [m.split(":")[0] for m in local["ha"]] == ["user", "ha", "hb", "user", "ha", "Host"]
    assert [m.split(":")[0] for m in local["hc"]] == ["ha"] and local["hd"] == ["Host: after"]


def test_independent_agents_run_side_by_side_and_chains_in_order(eight: list[DistributedAgent]) -> None:
    assert [a(ask("warm up")).content for a in eight] == ["echo[user: warm up]"] * 8

    def one_call() -> float:
        started = time.monotonic()
        assert eight[0](ask("a slow question")).content == "echo[user: a slow question]"
        return time.monotonic() - started

    def eight_calls() -> float:
        started = time.monotonic()
        task = ask("a slow question")
        replies = [agent(task) for agent in eight]  # returns at once: placeholders
        assert all(isinstance(r, PlaceholderMsg) and not r.is_resolved() for r in replies)
        assert [r.content for r in replies] == ["echo[user: a slow question]"] * 8
        return time.monotonic() - started

    single = min(one_call() for _ in range(2))
    together = min(eight_calls() for _ in range(3))  # best of three: the box is shared
    assert single >= CALL_S
    assert together < 2 * single, f"8 distributed calls took {together:.3f}s, one call {single:.3f}s"
    started = time.monotonic()
    x = ask("slow chain")
    for agent in eight[:3]:
        x = agent(x)
    assert time.monotonic() - started < CALL_S  # nothing waited for the chain yet
    assert x.content == "echo[a1: echo[a0: echo[user: slow chain]]]"  # each saw the one before
    assert time.monotonic() - started >= 3 * CALL_S


def test_errors_surface_where_the_value_is_read(eight: list[DistributedAgent]) -> None:
    first, second, third = eight[:3]
    bad = first(ask("please FAIL"))
    passed_on = second(bad)  # waits in second's actor, not here
    with pytest.raises(ModelError, match="the fake model refuses FAIL") as info:
        _ = bad.content
    remote = str(info.value)  # the remote traceback: the actor's task and the frames where it failed
    assert "ray::" in remote and ".call()" in remote and 'File "' in remote and "openai_compat.py" in remote
    with pytest.raises(ModelError, match="refuses FAIL"):
        _ = passed_on["content"]
    third.observe(bad)  # nothing to observe: its next call says why
    with pytest.raises(ModelError, match="refuses FAIL"):
        _ = third(ask("hi")).content
    assert third(ask("hi again")).content == "echo[user: hi again]"  # raised once
    assert first(ask("fine")).content == "echo[user: fine]"
    listener = DialogAgent("listener", model_config_name="echo")  # a local agent: the same, once
    listener.observe(bad)
    with pytest.raises(ModelError, match="refuses FAIL"):
        listener(ask("hi"))
    assert listener(ask("hi")).content == "echo[user: hi]"


def test_a_dead_actor_gives_a_typed_error_not_a_hang(eight: list[DistributedAgent]) -> None:
    import ray

    victim = DialogAgent("victim", model_config_name="echo").to_dist()
    victim.ready()
    pending = victim(ask("slow, you will not finish"))
    waiting = eight[4](pending)
    ray.kill(victim.server, no_restart=True)
    started = time.monotonic()
    with pytest.raises(AgentDiedError, match="actor of distributed agent 'victim' died") as info:
        _ = pending.content
    assert info.value.details["agent"] == "victim"
    with pytest.raises(AgentDiedError, match="'a4' could not answer: an agent it waited for died"):
        _ = waiting.content
    with pytest.raises(AgentDiedError):
        _ = victim(ask("anyone?")).content
    assert eight[4](ask("still here")).content == "echo[user: still here]"
    assert time.monotonic() - started < 60


class RawAgent(AgentBase):
    """The seed's custom agent: its reply is the model's raw answer, not a Msg."""

    def reply(self, x):
        return self.model(x).raw


def test_bad_input_to_distributed_agents(shared: Any) -> None:
    import ray.cloudpickle

    with pytest.raises(UnknownModelConfigError, match=r"'nope' is not loaded; known: 'echo'"):
        DialogAgent("d", model_config_name="nope", to_dist=True)
    with pytest.raises(ConfigError, match=r"DialogAgent\(...\) cannot take these arguments"):
        DialogAgent("d", model_config_name="echo", temperature=2, to_dist=True)
    with pytest.raises(ConfigError, match="reads this process's terminal"):
        UserAgent(to_dist=True)
    no_model = DialogAgent("no_model", to_dist={"server": shared})  # built in the actor: the error comes on use
    with pytest.raises(ConfigError, match="DialogAgent 'no_model' needs a model"):
        no_model.ready()
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # a class of this test file
    raw = RawAgent("raw", model_config_name="echo").to_dist(server=shared)
    with pytest.raises(ConfigError, match=r"agent 'raw' \(RawAgent\): reply\(\) returned dict, not a Msg"):
        _ = raw(Msg("user", "hi", role="user")).content


def test_a_shared_server_hosts_many_agents_and_mixed_hubs(shared: Any) -> None:
    server = shared
    players = [DictDialogAgent(f"p{i}", model_config_name="echo", max_retries=0, json_hint=None,
                               fault_handler=lambda text: {"speak": text}).to_dist(server=server)
               for i in range(4)]  # fmt: skip
    host = DialogAgent("host", sys_prompt="You host.", model_config_name="echo")
    host.observe(Msg("user", "remember me", role="user"))
    remote_host = host.to_dist(server=server)  # what it remembered goes along
    assert [m.content for m in remote_host.memory.get_memory()] == ["remember me"]
    local = DialogAgent("local", sys_prompt="You listen.", model_config_name="echo")
    with msghub([*players, local], announcement=Msg("Host", "Night.", role="system")):
        x = players[0]()
        for p in players[1:]:
            x = p(x)
        said = local()  # waits here for the distributed speakers before it
    assert said.content.startswith("echo[p3: echo[p2:")
    assert [m.to_str() for m in local.memory.get_memory()][:2] == ["Host: Night.", "p0: echo[Night.]"]
    assert [m.name for m in players[0].memory.get_memory()] == ["Host", "p0", "p1", "p2", "p3", "local"]
    hosted = sorted(call(server, "info")["agents"].values())
    assert {"host", "p0", "p1", "p2", "p3"} <= set(hosted)
    players[1].close()
    assert "p1" not in call(server, "info")["agents"].values()
    with pytest.raises(ConfigError, match="was removed"):
        _ = players[1]().content  # an error, not a wait: calls after close() still get their turn
    with pytest.raises(TypeError):
        players[2](Msg("user", threading.Lock()))  # cannot be sent: refused here, and no turn is lost
    assert players[2](ask("after that")).content == "echo[user: after that]"
    with pytest.raises(ConfigError, match="cannot reach this msghub's Environment"), msghub(
        [players[0]], env=Environment(name="in-this-process", durable=False)
    ):
        pass


def test_a_user_answers_what_a_distributed_agent_said(eight: list[DistributedAgent]) -> None:
    reply = eight[5](ask("slow hello"))
    user = UserAgent(input_func=lambda prompt: "seen" if reply.is_resolved() else "not yet")
    assert user(reply).content == "seen"  # the reply arrived before the person was asked
