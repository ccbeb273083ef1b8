"""Models cross Ray boundaries: a pickled model rebuilds its own client from its config."""

from __future__ import annotations

import pickle

import ray

from msagent.llm.base import ChatModel
from msagent.schemas import Message

from .conftest import Backend

USER = [Message(role="user", content="hello")]


def test_model_pickles_and_chats(backend: Backend, serve) -> None:
    server = serve("first", "second")
    model = backend.model(server)
    copy = pickle.loads(pickle.dumps(model))
    assert type(copy) is type(model) and copy.config == model.config
    assert model.chat_text(USER) == "first"
    assert copy.chat_text(USER) == "second"


def test_model_used_inside_a_ray_task(backend: Backend, serve, ray_cluster: None) -> None:
    server = serve("from the task")

    @ray.remote(num_cpus=0)
    def ask(model: ChatModel) -> str:
        return model.chat_text([Message(role="user", content="hi")])

    assert ray.get(ask.remote(backend.model(server)), timeout=60) == "from the task"
    assert len(server.requests) == 1
