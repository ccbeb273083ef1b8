"""Routing through a Task Center: addressed agents step alone and see only their own mail."""

from __future__ import annotations

from msagent.llm import FunctionModel, ScriptedModel, ScriptedTurn
from msagent.runtime import call, iter_call


def roles_of(frames: list[str]) -> list[str]:
    return sorted({f.split(":", 1)[0] for f in frames})


def test_addressed_agent_steps_alone_and_nobody_sees_others_mail(mode):
    tc = mode.center()
    a = mode.agent("alice", ScriptedModel(["secret for bob"], cycle=True))
    b = mode.agent("bob", ScriptedModel(["bob answers"], cycle=True))
    c = mode.agent("carol", ScriptedModel(["carol here"], cycle=True))
    assert tc.add_agents([a, b, c]) == ["alice", "bob", "carol"]

    tc.send_task_request("task only for alice", send_to="alice")
    frames = list(tc.step(send_to="bob"))
    assert roles_of(frames) == ["alice"]
    assert "".join(f.split(": ", 1)[1] for f in frames) == "secret for bob"

    frames = list(tc.step(send_to="alice"))
    assert roles_of(frames) == ["bob"]
    assert roles_of(list(tc.step(send_to="bob"))) == ["alice"]
    assert roles_of(list(tc.step(send_to="alice"))) == ["bob"]

    alice_prompts = mode.prompts(a)
    bob_prompts = mode.prompts(b)
    assert mode.prompts(c) == []
    assert len(alice_prompts) == 2 and len(bob_prompts) == 2
    assert alice_prompts[0][-1] == ("user", "user_requirement: task only for alice")
    assert bob_prompts[0][-1] == ("user", "alice: secret for bob")
    assert all("task only for alice" not in content for prompt in bob_prompts for _, content in prompt)
    assert tc.notified_roles() == ["alice"]


def test_broadcast_reaches_all_but_sender_and_history_is_kept(mode):
    tc = mode.center()
    agents = [mode.agent(n, ScriptedModel([f"{n} says hi"], cycle=True)) for n in ("a", "b", "c")]
    tc.add_agents(agents)
    frames = list(tc.step(task="hello everyone"))
    assert roles_of(frames) == ["a", "b", "c"]
    # each reply went to the two others, so all three are notified again
    assert sorted(tc.notified_roles()) == ["a", "b", "c"]
    frames = list(tc.step(allowed_roles=["a"]))
    prompt = mode.prompts(agents[0])[-1][-1][1]
    assert "b: b says hi" in prompt and "c: c says hi" in prompt and "a says hi" not in prompt
    history = call(tc.get_env(), "extract_all_history_message", None)
    assert [m.content for m in history][0] == "hello everyone"
    assert len(history) == 5


def test_frames_interleave_between_parallel_agents(mode):
    tc = mode.center()
    slow = ScriptedTurn(text="one two three four five", chunk_delay_s=0.08)
    a = mode.agent("a", ScriptedModel([slow]))
    b = mode.agent("b", ScriptedModel([slow]))
    tc.add_agents([a, b])
    frames = list(tc.step(task="go"))
    order = [f.split(":", 1)[0] for f in frames]
    assert sorted(order) == ["a"] * 5 + ["b"] * 5
    # interleaved, not one agent after the other (how fast is the benchmark's business)
    assert order != sorted(order) and order != sorted(order, reverse=True)


def test_run_loop_stops_on_idle_and_budget(mode):
    tc = mode.center()
    counter = {"n": 0}

    def reply(messages, tools):
        counter["n"] += 1
        return "pong"

    tc.add_agents([mode.agent("a", FunctionModel(reply)), mode.agent("b", FunctionModel(reply))])
    frames = list(tc.run(task="ping", max_rounds=50, max_turns=5))
    assert len(frames) == 5 and tc.get_last_stop_reason() == "budget"
    tc.reset_env()
    frames = list(tc.run(max_rounds=3))
    assert frames == [] and tc.get_last_stop_reason() == "idle"
    frames = list(tc.run(task="ping", max_rounds=2))
    assert len(frames) == 4 and tc.get_last_stop_reason() == "max_rounds"
    tc.reset_env()
    calls = counter["n"]
    # a spent time budget stops the loop before a round starts; the task waits for the next run
    assert list(tc.run(task="ping", max_rounds=5, max_seconds=0)) == []
    assert tc.get_last_stop_reason() == "budget" and counter["n"] == calls
    assert sorted(tc.notified_roles()) == ["a", "b"]
    assert len(list(tc.run(max_rounds=1))) == 2 and tc.get_last_stop_reason() == "max_rounds"


def test_watcher_sees_everything_and_publishes_nothing(mode):
    tc = mode.center()
    a = mode.agent("a", ScriptedModel(["for b only"], cycle=True))
    b = mode.agent("b", ScriptedModel(["b reply"], cycle=True))
    w = mode.agent("w", ScriptedModel(["watcher notes"], cycle=True), is_watcher=True)
    tc.add_agents([a, b, w])
    env = tc.get_env()
    tc.send_task_request("task for a", send_to="a")
    assert roles_of(list(tc.step(send_to="b"))) == ["a"]
    # the watcher got mail addressed to others, yet the default policy never picks it to speak
    assert tc.notified_roles() == ["b"]
    assert sorted(call(env, "get_notified_roles", True)) == ["b", "w"]

    frames = list(tc.step(allowed_roles=["w"]))
    assert "".join(f.split(": ", 1)[1] for f in frames) == "watcher notes"
    assert mode.prompts(w)[0][-1] == ("user", "user_requirement: task for a\na: for b only")
    history = call(env, "extract_all_history_message", None)
    assert [(m.sent_from, m.content) for m in history] == [("user_requirement", "task for a"), ("a", "for b only")]
    assert call(env, "read_mail", "w") == []  # what it saw is acknowledged, not shown again
    assert [d.message.content for d in call(env, "read_mail", "b")] == ["for b only"]


def test_history_is_kept_only_with_use_history_and_extra_messages_join_the_prompt(mode):
    tc = mode.center()
    keep = mode.agent("keep", ScriptedModel(["r1", "r2", "r3"]))
    forget = mode.agent("forget", ScriptedModel(["f1", "f2"]), use_history=False)
    tc.add_agents([keep, forget])
    list(tc.step(task="first"))
    list(tc.step(task="second"))
    assert mode.prompts(keep)[1] == [
        ("user", "user_requirement: first"),
        ("assistant", "r1"),
        ("user", "forget: f1\nuser_requirement: second"),
    ]
    assert mode.prompts(forget)[1] == [("user", "keep: r1\nuser_requirement: second")]
    frames = list(iter_call(keep, "step", messages=["extra note"]))
    assert frames == ["keep: r3"]
    assert mode.prompts(keep)[2][-1] == ("user", "forget: f2\nuser: extra note")
