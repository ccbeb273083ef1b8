"""Model configs map onto the one model layer; bad configs are clear errors naming what is wrong."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from as_helpers import chat_config

import msagent
from msagent.agents import DialogAgent
from msagent.agentscope import session
from msagent.agentscope.model_configs import read_model_configs
from msagent.agentscope.models import load_model_by_config_name
from msagent.errors import ConfigError, ModelAuthError, ModelError, UnknownModelConfigError
from msagent.message import Msg
from msagent.testing import FakeOpenAIServer, FakePostAPIServer, FakeReply
from msagent.testing.openai_server import fake_embedding


@pytest.fixture(autouse=True)
def _fresh_session():
    yield
    session.shutdown()


def test_generate_args_and_client_args_reach_the_server(echo_server: FakeOpenAIServer) -> None:
    config = chat_config(
        echo_server, generate_args={"temperature": 0.25, "top_k": 5},
        client_args={"base_url": echo_server.base_url, "default_headers": {"X-Team": "blue"}},
        organization="org-9",
    )  # fmt: skip
    msagent.init(model_configs=config)
    model = load_model_by_config_name("echo")
    response = model([Msg("user", "hi", role="user")], max_tokens=7)
    assert response.text == "echo[user: hi]"
    assert response.raw["choices"][0]["message"] == {"role": "assistant", "content": "echo[user: hi]"}
    body, headers = echo_server.requests[-1], echo_server.headers[-1]
    assert (body["temperature"], body["top_k"], body["max_tokens"]) == (0.25, 5, 7)
    assert headers["x-team"] == "blue" and headers["openai-organization"] == "org-9"
    assert headers["authorization"] == "Bearer sk-test"


def test_configs_from_a_file_a_dict_and_a_list(tmp_path: Path, echo_server: FakeOpenAIServer) -> None:
    path = tmp_path / "configs.json"
    path.write_text(json.dumps([chat_config(echo_server, "a"), chat_config(echo_server, "b")]), encoding="utf-8")
    msagent.init(model_configs=str(path))
    assert DialogAgent("x", model_config_name="b").model.config_name == "b"
    msagent.init(model_configs=chat_config(echo_server, "c"))  # a new init replaces the configs
    with pytest.raises(UnknownModelConfigError, match=r"'a' is not loaded; known: 'c'"):
        DialogAgent("x", model_config_name="a")


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        ([{"config_name": "a", "model_type": "openai", "model_name": "m"}] * 2, r"config_name 'a' is given more than once"),
        ({"model_type": "openai", "model_name": "m"}, r"model config #0: config_name: Field required"),
        ({"config_name": "a", "model_type": "openai", "model_name": "m", "modle": 1}, r"'a': modle: is not a known field"),
        ({"config_name": "a", "model_type": "gemini_chat", "model_name": "m"}, r"model_type: Input should be 'openai'"),
        ({"config_name": "a", "model_type": "openai"}, r"model_type 'openai' needs 'model_name'"),
        ({"config_name": "a", "model_type": "post_api"}, r"needs 'api_url'"),
        ({"config_name": "a", "model_type": "openai", "model_name": "m", "client_args": {"proxy": 1}},
         r"client_args \['proxy'\] are not supported"),
        ("/no/such/configs.json", r"cannot read model configs '/no/such/configs.json'"),
    ],
)  # fmt: skip
def test_bad_configs_are_clear_errors(configs: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        msagent.init(model_configs=configs)


def test_a_name_loaded_twice_is_an_error_and_unknown_names_list_the_known(echo_server: FakeOpenAIServer) -> None:
    msagent.init(model_configs=[chat_config(echo_server, "one"), chat_config(echo_server, "two")])
    with pytest.raises(ConfigError, match=r"config_name 'one' is already loaded"):
        read_model_configs(chat_config(echo_server, "one"))
    with pytest.raises(UnknownModelConfigError, match=r"'three' is not loaded; known: 'one', 'two'") as info:
        DialogAgent("x", model_config_name="three")
    assert pickle.loads(pickle.dumps(info.value)).details["known"] == ["one", "two"]
    with pytest.raises(ConfigError, match="either model_config_name or model_or_config_name"):
        DialogAgent("x", model_config_name="one", model_or_config_name="two")
    with pytest.raises(ConfigError, match=r"DialogAgent 'x' needs a model"):
        DialogAgent("x")


def test_server_errors_keep_their_type(echo_server: FakeOpenAIServer) -> None:
    with FakeOpenAIServer(replies=[FakeReply(status=401, error_message="bad key")]) as server:
        msagent.init(model_configs=chat_config(server))
        with pytest.raises(ModelAuthError, match="refused the credentials"):
            DialogAgent("x", model_config_name="echo")(Msg("user", "hi", role="user"))


def test_embedding_and_dall_e(echo_server: FakeOpenAIServer) -> None:
    msagent.init(model_configs=[
        {**chat_config(echo_server, "emb"), "model_type": "openai_embedding", "model_name": "text-embedding-3-small"},
        {**chat_config(echo_server, "img"), "model_type": "openai_dall_e", "model_name": "dall-e-3",
         "generate_args": {"size": "1024x1024"}},
    ])  # fmt: skip
    embedded = load_model_by_config_name("emb")(["alpha", "beta"])
    assert embedded.embedding == [fake_embedding("alpha"), fake_embedding("beta")]
    assert echo_server.requests[-1]["model"] == "text-embedding-3-small"
    images = load_model_by_config_name("img")("a red fox", n=2)
    assert len(images.image_urls) == 2 and images.image_urls[0].startswith("https://images.example/")
    assert echo_server.requests[-1]["size"] == "1024x1024" and echo_server.requests[-1]["n"] == 2


def test_post_api_json_args_response_path_and_errors() -> None:
    def shape(text: str) -> dict:
        return {"data": {"response": {"choices": [{"message": {"content": text}}]}}}

    with FakePostAPIServer(replies=["from post", FakeReply(status=503)], shape=shape) as server:
        msagent.init(model_configs={
            "config_name": "post", "model_type": "post_api", "api_url": server.url, "messages_key": "messages",
            "json_args": {"model": "qwen-local", "max_length": 64}, "max_retries": 0,
        })  # fmt: skip
        agent = DialogAgent("poster", model_config_name="post")
        assert agent(Msg("user", "hi", role="user")).content == "from post"
        assert server.requests[0] == {"messages": [{"role": "user", "content": "user: hi"}], "model": "qwen-local",
                                      "max_length": 64}  # fmt: skip
        with pytest.raises(ModelError, match="HTTP 503"):
            agent(Msg("user", "again", role="user"))
    with FakePostAPIServer(replies=["x"], cycle=True, shape=lambda text: {"result": {"answer": text}}) as server:
        msagent.init(model_configs=[
            {"config_name": "guess", "model_type": "post_api", "api_url": server.url},
            {"config_name": "path", "model_type": "post_api", "api_url": server.url, "response_path": "result.answer"},
        ])  # fmt: skip
        assert load_model_by_config_name("guess")("hi").raw == {"result": {"answer": "x"}}
        with pytest.raises(ModelError, match="set 'response_path'"):
            DialogAgent("g", model_config_name="guess")(Msg("u", "hi", role="user"))
        assert DialogAgent("p", model_config_name="path")(Msg("u", "hi", role="user")).content == "x"


def test_msagent_model_type_reaches_any_back_end() -> None:
    msagent.init(model_configs={
        "config_name": "scripted", "model_type": "msagent",
        "llm": {"model_server": "scripted", "replies": ["one", "two"]},
    })  # fmt: skip
    agent = DialogAgent("s", model_config_name="scripted")
    assert [agent().content, agent().content] == ["one", "two"]
