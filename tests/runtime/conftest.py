"""Run the same runtime scenarios locally and on the session Ray cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from msagent.llm import ChatModel
from msagent.runtime import call, create_component
from msagent.runtime.testing_agents import EchoAgent
from task_center import TaskCenter


class Mode:
    def __init__(self, remote: bool) -> None:
        self.remote = remote
        self.prefix = f"t{uuid.uuid4().hex[:8]}"
        self.centers: list[TaskCenter] = []

    def center(self, **kwargs: Any) -> TaskCenter:
        tc = TaskCenter(remote=self.remote, prefix_name=self.prefix, **kwargs)
        self.centers.append(tc)
        return tc

    def agent(self, name: str, llm: ChatModel, **kwargs: Any) -> Any:
        return create_component(EchoAgent, name=name, remote=self.remote, prefix_name=self.prefix, llm=llm, **kwargs)

    def prompts(self, agent: Any) -> list[list[tuple[str, str]]]:
        return [[tuple(p) for p in prompt] for prompt in call(agent, "model_prompts")]


@pytest.fixture(params=["local", "ray"])
def mode(request: pytest.FixtureRequest) -> Iterator[Mode]:
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    m = Mode(remote=request.param == "ray")
    yield m
    for tc in m.centers:
        tc.close()
