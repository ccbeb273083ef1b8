"""Human input modes and speaker policies (director, round-robin), locally and on Ray."""

from __future__ import annotations

import json

import pytest

from msagent.errors import ConfigError
from msagent.llm import FunctionModel, ScriptedModel
from msagent.runtime import call
from task_center import DirectorPolicy, parse_speakers


def text_of(frames, role):
    return "".join(f.split(": ", 1)[1] for f in frames if f.startswith(f"{role}: "))


def test_on_mode_publishes_user_text_without_the_model(mode):
    tc = mode.center()
    # a model with no replies raises if it is ever called
    human = mode.agent("human", ScriptedModel([]), human_input_mode="ON")
    bot = mode.agent("bot", ScriptedModel(["bot reply"], cycle=True))
    tc.add_agents([human, bot])
    frames = list(tc.step(allowed_roles=["human"], user_response="typed by a person"))
    assert frames == ["human: typed by a person"]
    assert mode.prompts(human) == []
    list(tc.step())
    assert mode.prompts(bot)[-1][-1] == ("user", "human: typed by a person")


def test_on_mode_without_a_response_is_skipped_by_policies_and_an_error_when_forced(mode):
    tc = mode.center()
    human = mode.agent("human", ScriptedModel([]), human_input_mode="ON")
    bot = mode.agent("bot", ScriptedModel(["hi"], cycle=True))
    tc.add_agents([human, bot])
    frames = list(tc.step(task="hello both"))
    assert {f.split(":")[0] for f in frames} == {"bot"}
    assert tc.waiting_for_human() == ["human"]
    with pytest.raises(ConfigError, match="human-driven"):
        list(tc.step(allowed_roles=["human"]))


def test_terminal_mode_uses_the_answer_and_falls_back_to_the_model_when_empty(mode):
    tc = mode.center()
    term = mode.agent("term", ScriptedModel(["model fallback"], cycle=True), human_input_mode="TERMINAL")
    other = mode.agent("other", ScriptedModel(["ok"], cycle=True))
    tc.add_agents([term, other])
    assert list(tc.step(allowed_roles=["term"], user_response="person")) == ["term: person"]
    assert mode.prompts(term) == []
    frames = list(tc.step(allowed_roles=["term"], user_response="   "))
    assert text_of(frames, "term") == "model fallback"
    assert len(mode.prompts(term)) == 1


def test_set_user_agent_switches_a_role_to_human(mode):
    tc = mode.center()
    a = mode.agent("a", ScriptedModel(["model"], cycle=True))
    b = mode.agent("b", ScriptedModel(["model"], cycle=True))
    tc.add_agents([a, b])
    tc.set_user_agent("a")
    assert list(tc.step(allowed_roles=["a"], user_response={"a": "me"})) == ["a: me"]
    tc.unset_user_agent("a")
    assert text_of(list(tc.step(allowed_roles=["a"])), "a") == "model"


def director_model(answers):
    state = {"i": 0}

    def reply(messages, tools):
        answer = answers[min(state["i"], len(answers) - 1)]
        state["i"] += 1
        return answer

    return FunctionModel(reply)


def test_director_names_speakers_and_tolerates_bad_answers(mode):
    answers = [
        json.dumps({"next_speakers": ["bob"]}),
        "I think nobody in particular",  # not JSON -> round robin
        '{"next_speakers": ["mallory"]}',  # unknown name -> round robin
        "```json\n{'next_speakers': ['alice', 'carol', 'bob']}\n```",  # json5 in a fence, capped at 2
    ]
    tc = mode.center(policy={"name": "director", "director": "god"})
    god = mode.agent("god", director_model(answers), is_watcher=True, use_history=False)
    people = [mode.agent(n, ScriptedModel([f"{n} talks"], cycle=True)) for n in ("alice", "bob", "carol")]
    tc.add_agents([god, *people])
    tc.send_task_request("topic: cats")

    spoke = []
    for _ in range(4):
        frames = list(tc.step())
        spoke.append(sorted({f.split(":")[0] for f in frames}))
        assert "god" not in spoke[-1]
    assert spoke[0] == ["bob"]
    assert len(spoke[1]) == 1 and spoke[1] != ["bob"]  # round robin never repeats the last speaker
    assert len(spoke[2]) == 1 and spoke[2] != spoke[1]
    assert len(spoke[3]) == 2
    # the director (a watcher) saw everything and published nothing
    god_prompts = mode.prompts(god)
    assert "topic: cats" in god_prompts[0][-1][1]
    history = call(tc.get_env(), "extract_all_history_message", None)
    assert all(m.sent_from != "god" for m in history)


def test_director_at_mention_forces_the_addressed_role(mode):
    tc = mode.center(policy=DirectorPolicy(director="god"))
    god = mode.agent("god", director_model(['{"next_speakers": ["alice"]}']), is_watcher=True)
    alice = mode.agent("alice", ScriptedModel(["what do you think, @carol?"], cycle=True))
    bob = mode.agent("bob", ScriptedModel(["bob"], cycle=True))
    carol = mode.agent("carol", ScriptedModel(["carol"], cycle=True))
    tc.add_agents([god, alice, bob, carol])
    tc.send_task_request("start")
    assert {f.split(":")[0] for f in tc.step()} == {"alice"}
    assert {f.split(":")[0] for f in tc.step()} == {"carol"}
    assert len(mode.prompts(god)) == 1  # the mention decided without asking the director


def test_round_robin_policy_cycles(mode):
    tc = mode.center(policy="round_robin")
    tc.add_agents([mode.agent(n, ScriptedModel([n], cycle=True)) for n in ("a", "b", "c")])
    tc.send_task_request("go")
    order = [list(tc.step())[0].split(":")[0] for _ in range(4)]
    assert order == ["a", "b", "c", "a"]


def test_parse_speakers_shapes():
    assert parse_speakers('{"next_speakers": ["a", "b"]}') == ["a", "b"]
    assert parse_speakers('["a"]') == ["a"]
    assert parse_speakers("sure! {next_speakers: 'a'}") == ["a"]
    assert parse_speakers("no json here") == []
    assert parse_speakers("{broken") == []


def test_terminal_mode_asks_the_input_function_when_no_response_is_given(mode):
    def _no_terminal(prompt: str) -> str:  # nested: pickled by value into the actor
        raise EOFError

    tc = mode.center()
    typed = mode.agent("typed", ScriptedModel([]), human_input_mode="TERMINAL", input_function=lambda p: "from keyboard")
    mute = mode.agent("mute", ScriptedModel(["model spoke"], cycle=True), human_input_mode="TERMINAL",
                      input_function=_no_terminal)  # fmt: skip
    tc.add_agents([typed, mute])
    frames = list(tc.step(task="anyone?"))
    assert text_of(frames, "mute") == "model spoke" and text_of(frames, "typed") == "from keyboard"
    assert mode.prompts(typed) == []
