"""Seed 003 (AgentScope's README) as a contract: each code example as the user wrote it, with only
``agentscope`` -> ``msagent`` in imports and the model config pointed at fake servers that speak
the real protocols (OpenAI's chat API; a HuggingFace-style POST API)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from msagent.agentscope import session
from msagent.agentscope.models import load_model_by_config_name
from msagent.errors import ConfigError
from msagent.testing import FakeOpenAIServer, FakePostAPIServer


@pytest.fixture
def post_server() -> Iterator[FakePostAPIServer]:
    with FakePostAPIServer(replies=["posted reply"], cycle=True) as server:
        yield server


@pytest.fixture
def seed_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, echo_server: FakeOpenAIServer, post_server: FakePostAPIServer
) -> Iterator[Path]:
    """The seed's ``./model_configs.json``: its OpenAI config and its post API config (plus the
    URLs of our fake servers), in the current directory as the seed expects."""
    configs = [
        {
            "config_name": "your_config_name",  # 用于识别配置的名称
            "model_type": "openai",
            "model_name": "gpt-4",
            "api_key": "xxx",
            "organization": "xxx",
            "client_args": {"base_url": echo_server.base_url},
        },
        {
            "config_name": "my_post_api",
            "model_type": "post_api",
            "api_url": post_server.url,
            "headers": {"Authorization": "Bearer hf_xxx"},
        },
    ]
    (tmp_path / "model_configs.json").write_text(json.dumps(configs), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("Nice to meet you\nexit\n"))  # the user at the terminal
    yield tmp_path
    session.shutdown()


def test_step2_and_step3_the_user_assistant_conversation(seed_dir: Path, echo_server: FakeOpenAIServer) -> None:
    from msagent.agents import DialogAgent, UserAgent  # noqa: I001  (the seed's import order)
    import msagent

    # 载入模型配置
    msagent.init(model_configs="./model_configs.json")

    # 创建对话Agent和用户Agent
    dialog_agent = DialogAgent(name="assistant",
                               model_or_config_name="your_config_name")
    user_agent = UserAgent()

    from msagent.message import Msg

    x = Msg(name="Alice", content="Hi!")
    x = Msg("Bob", "What about this picture I took?", url="/path/to/picture.jpg")

    x = None
    while True:
      x = dialog_agent(x)
      x = user_agent(x)
      if x.content == "exit": # 用户输入"exit"退出对话
        break

    assert x.name == "User" and x.content == "exit"
    said = [(m.name, m.content) for m in user_agent.memory.get_memory()]
    assert said == [
        ("assistant", "echo[You are assistant.]"),
        ("User", "Nice to meet you"),
        ("assistant", "echo[User: Nice to meet you]"),
        ("User", "exit"),
    ]
    assert dialog_agent.memory.get_memory() == user_agent.memory.get_memory()[:3]
    # the real OpenAI wire format reached the server, with the seed's organization header
    assert echo_server.requests[1]["model"] == "gpt-4"
    assert echo_server.requests[1]["messages"] == [
        {"role": "assistant", "content": "echo[You are assistant.]"},
        {"role": "user", "content": "User: Nice to meet you"},
    ]
    assert echo_server.headers[0]["openai-organization"] == "xxx"
    assert echo_server.headers[0]["authorization"] == "Bearer xxx"


def test_msg_is_a_dict_with_a_url(seed_dir: Path) -> None:
    from msagent.message import Msg

    x = Msg(name="Alice", content="Hi!")
    x = Msg("Bob", "What about this picture I took?", url="/path/to/picture.jpg")

    assert x["name"] == x.name == "Bob" and x.url == "/path/to/picture.jpg" and isinstance(x, dict)


def test_the_post_api_config(seed_dir: Path, post_server: FakePostAPIServer) -> None:
    import msagent
    from msagent.agents import DialogAgent

    msagent.init(model_configs="./model_configs.json")
    model = load_model_by_config_name("my_post_api")
    response = model([{"role": "user", "content": "hello"}])
    assert response.text == "posted reply"
    assert response.raw == [{"generated_text": "posted reply"}]
    assert post_server.requests[0] == {"inputs": [{"role": "user", "content": "hello"}]}
    assert post_server.headers[0]["authorization"] == "Bearer hf_xxx"
    # an agent on it: the same messages an OpenAI model would get, POSTed under 'inputs'
    agent = DialogAgent("poster", sys_prompt="Be brief.", model_config_name="my_post_api")
    assert agent().content == "posted reply"
    assert post_server.requests[1]["inputs"] == [{"role": "system", "content": "Be brief."}]


def _agents(n: int, prefix: str = "agent") -> list:
    from msagent.agents import DialogAgent

    return [
        DialogAgent(name=f"{prefix}{i}", sys_prompt=f"You are {prefix}{i}.", model_config_name="your_config_name")
        for i in range(1, n + 1)
    ]


def test_pipelines_the_three_ways_agree(seed_dir: Path) -> None:
    import msagent
    from msagent.message import Msg

    msagent.init(model_configs="./model_configs.json")
    input_msg = Msg("user", "Plan a trip.", role="user")

    agent1, agent2, agent3 = _agents(3)
    x1 = agent1(input_msg)
    x2 = agent2(x1)
    x3 = agent3(x2)
    by_hand = x3.content

    agent1, agent2, agent3 = _agents(3)
    from msagent.pipelines import SequentialPipeline

    pipe = SequentialPipeline([agent1, agent2, agent3])
    x3 = pipe(input_msg)
    assert x3.content == by_hand

    agent1, agent2, agent3 = _agents(3)
    from msagent.pipelines.functional import sequentialpipeline

    x3 = sequentialpipeline([agent1, agent2, agent3], x=input_msg)
    assert x3.content == by_hand == "echo[agent2: echo[agent1: echo[user: Plan a trip.]]]"


def test_msghub_does_what_the_manual_broadcast_does(seed_dir: Path) -> None:
    import msagent
    from msagent.message import Msg

    msagent.init(model_configs="./model_configs.json")
    x = Msg("user", "Let us talk.", role="user")

    agent1, agent2, agent3 = _agents(3)
    x1 = agent1(x)
    agent2.observe(x1)  # 消息x1应该广播给其他agent
    agent3.observe(x1)

    x2 = agent2(x1)
    agent1.observe(x2)
    agent3.observe(x2)
    manual = [[m.to_str() for m in a.memory.get_memory()] for a in (agent1, agent2, agent3)]

    agent1, agent2, agent3 = _agents(3)
    with msagent.msghub(participants=[agent1, agent2, agent3]):
        x1 = agent1(x)
        x2 = agent2(x1)
    assert [[m.to_str() for m in a.memory.get_memory()] for a in (agent1, agent2, agent3)] == manual


def test_msghub_with_broadcast_add_and_delete(seed_dir: Path) -> None:
    import msagent

    msagent.init(model_configs="./model_configs.json")
    agent1, agent2, agent3, agent4 = _agents(4)
    from msagent.message import Msg  # noqa: I001  (the seed's import comes next, as written)

    from msagent import msghub

    with msghub(participants=[agent1, agent2, agent3]) as hub:
        agent1() # `x = agent1(x)`也可行
        agent2()

        # 向所有参与者广播一条消息
        hub.broadcast(Msg("Host", "欢迎加入群组对话！"))

        # 动态地添加或删除参与者
        hub.delete(agent1)
        hub.add(agent4)

        agent3()  # after the seed's block: who hears agent3 now
    heard = {a.name: [m.to_str() for m in a.memory.get_memory()] for a in (agent1, agent2, agent3, agent4)}
    first, second = "agent1: echo[You are agent1.]", "agent2: echo[agent1: echo[You are agent1.]]"
    assert heard["agent1"] == [first, second, "Host: 欢迎加入群组对话！"]
    assert heard["agent2"][:3] == [first, second, "Host: 欢迎加入群组对话！"]
    assert heard["agent2"][3].startswith("agent3: echo[")
    assert heard["agent3"][:3] == [first, second, "Host: 欢迎加入群组对话！"]
    assert heard["agent4"] == [heard["agent3"][3]]  # joined after the broadcast: hears only agent3
    # the hub's traffic is in the log of the Environment it ran on (its own: addressed to 'all')
    rows = msagent.agentscope.transcript()
    assert [(r["from"], r["send_to"], r["msg"]["name"]) for r in rows] == [
        ("agent1", "all", "agent1"),
        ("agent2", "all", "agent2"),
        ("Host", "all", "Host"),
        ("agent3", "all", "agent3"),
    ]


def test_customising_your_own_agent(seed_dir: Path) -> None:
    import msagent
    from msagent.message import Msg

    msagent.init(model_configs="./model_configs.json")

    from msagent.agents import AgentBase

    class MyAgent(AgentBase):

        def reply(self, x):

            # 在这里做一些事情，例如调用您的模型并获取原始字段作为agent的回应
            response = self.model(x).raw
            return response

    agent = MyAgent(name="mine", model_config_name="your_config_name")
    raw = agent.reply(Msg("user", "hi", role="user"))
    assert raw["choices"][0]["message"]["content"] == "echo[user: hi]"
    # called as an agent, the raw answer is not a Msg: a clear error naming the agent
    with pytest.raises(ConfigError, match=r"agent 'mine' \(MyAgent\): reply\(\) returned dict, not a Msg"):
        agent(Msg("user", "hi", role="user"))
