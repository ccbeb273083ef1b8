"""Msg values, the agents' replies and memory, bad input."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from msagent.agents import AgentBase, DialogAgent, DictDialogAgent, UserAgent
from msagent.agents.agentscope import TemporaryMemory
from msagent.errors import ConfigError, ResponseParsingError
from msagent.llm import ScriptedModel
from msagent.message import Msg, deserialize, from_message, to_message
from msagent.schemas import USER_REQUIREMENT, Message
from msagent.testing import FakeOpenAIServer


def test_msg_reads_as_dict_and_attributes_pickles_and_round_trips_json() -> None:
    x = Msg("Bob", {"text": "look"}, role="user", url="/p.jpg", mood="happy")
    assert x["content"] == x.content == {"text": "look"} and x.mood == "happy" and x.role == "user"
    x.mood = "sad"
    assert x["mood"] == "sad"
    with pytest.raises(AttributeError, match="no field 'missing'"):
        _ = x.missing
    for copy in (pickle.loads(pickle.dumps(x)), deserialize(x.serialize()), x.copy()):
        assert isinstance(copy, Msg) and copy == x and copy.id == x.id
    assert deserialize(f"[{x.serialize()}]") == [x]
    assert Msg("a", "b").role == "assistant" and Msg("a", "b").id != Msg("a", "b").id
    with pytest.raises(ConfigError, match="Msg role 'boss' is not one of system, user, assistant"):
        Msg("a", "b", role="boss")


def test_msg_crosses_the_runtime_whole_and_runtime_messages_read_as_msg() -> None:
    x = Msg("wolf", "kill Player2", agreement=True)
    message = to_message(x, ["Player1"])
    assert message.content == "kill Player2" and message.send_to == ["Player1"] and message.id != x.id
    back = from_message(Message.model_validate_json(message.model_dump_json()))
    assert back == x and back.agreement is True
    task = from_message(Message(role=USER_REQUIREMENT, content="Plan a picnic.", sent_from=USER_REQUIREMENT))
    assert (task.name, task.content, task.role) == (USER_REQUIREMENT, "Plan a picnic.", "user")
    with pytest.raises(ConfigError, match="must be JSON values"):
        to_message(Msg("a", object()), ["b"])


def test_memory_skips_a_message_it_holds_and_exports_and_loads(tmp_path: Path) -> None:
    memory = TemporaryMemory()
    a, b = Msg("a", "1"), Msg("b", "2")
    memory.add(a)
    memory.add([a, b, None])
    assert memory.get_memory() == [a, b] and memory.size() == 2
    assert memory.get_memory(recent_n=1) == [b]
    assert memory.get_memory(filter_func=lambda i, m: m.name == "a") == [a]
    memory.export(tmp_path / "m.json")
    other = TemporaryMemory()
    other.load(tmp_path / "m.json")
    assert other.get_memory() == [a, b]
    other.delete(0)
    assert other.get_memory() == [b]
    with pytest.raises(ConfigError, match="no index"):
        other.delete(5)
    other.clear()
    assert other.size() == 0


def test_dialog_agent_prompt_is_system_then_memory(echo_server: FakeOpenAIServer, as_session) -> None:
    agent = DialogAgent("critic", sys_prompt="You judge poems.", model_config_name="echo")
    agent.observe(Msg("poet", "Roses are red."))
    out = agent(Msg("host", "Your verdict?", role="user"))
    assert out.name == "critic" and out.role == "assistant" and out.content == "echo[host: Your verdict?]"
    assert echo_server.requests[-1]["messages"] == [
        {"role": "system", "content": "You judge poems."},
        {"role": "user", "content": "poet: Roses are red."},
        {"role": "user", "content": "host: Your verdict?"},
    ]
    agent(Msg("host", "Again?", role="user"))
    assert echo_server.requests[-1]["messages"][3] == {"role": "assistant", "content": "echo[host: Your verdict?]"}
    forgetful = DialogAgent("f", sys_prompt="s", model_config_name="echo", use_memory=False)
    assert forgetful.memory is None and forgetful(Msg("u", "x")).content == "echo[u: x]"


def test_dict_dialog_agent_parses_tolerantly_and_asks_again() -> None:
    model = ScriptedModel([
        "Sure! ```json\n{\"speak\": \"I vote Player3\", \"vote\": \"Player3\", \"name\": \"ignored\"}\n```",
        "no json here", "{'speak': 'json5 works', 'agreement': true,}",
        "nope", "still nope",
    ])  # fmt: skip
    agent = DictDialogAgent("Player1", sys_prompt="Play.", model_or_config_name=model, max_retries=1)
    first = agent(Msg("Moderator", "Vote!"))
    assert (first.name, first.content, first.vote, first.speak) == ("Player1", "I vote Player3", "Player3", "I vote Player3")
    assert agent().agreement is True  # 'no json here' was asked again
    with pytest.raises(ResponseParsingError, match=r"agent 'Player1': the model's answer did not parse after 2 tries"):
        agent()
    assert model.seen[0][-1].content.startswith("Respond with one JSON object")
    handled = DictDialogAgent("p", model_or_config_name=ScriptedModel(["plain words"]), max_retries=0,
                              fault_handler=lambda text: {"speak": text.upper()})  # fmt: skip
    assert handled().content == "PLAIN WORDS"


def test_user_agent_reads_its_input_function() -> None:
    answers = iter(["I want tea", "green", "http://tea.example/cup.png"])
    user = UserAgent(name="Ann", require_url=True, input_func=lambda prompt: next(answers))
    out = user.reply(Msg("bot", "What?"), required_keys="kind")
    assert (out.name, out.role, out.content, out.kind, out.url) == ("Ann", "user", "I want tea", "green", "http://tea.example/cup.png")
    assert [m.content for m in user.memory.get_memory()] == ["What?", "I want tea"]


def test_bad_agents_are_clear_errors() -> None:
    class Mute(AgentBase):
        pass

    with pytest.raises(NotImplementedError, match=r"agent 'm' \(Mute\) has no reply"):
        Mute("m")()
    with pytest.raises(ConfigError, match="non-empty name"):
        DialogAgent("", model_or_config_name=ScriptedModel(["x"]))
    with pytest.raises(ConfigError, match="a model is a config name"):
        DialogAgent("d", model_or_config_name=3.5)
