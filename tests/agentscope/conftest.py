"""AgentScope tests: fake model servers speaking the real protocols, one session per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from as_helpers import chat_config, echo_reply

import msagent
from msagent.agentscope import session
from msagent.testing import FakeOpenAIServer


@pytest.fixture
def echo_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(handler=echo_reply) as server:
        yield server


@pytest.fixture
def as_session(echo_server: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    """``msagent.init`` with the echo model as config 'echo'; the session is shut down after."""
    msagent.init(model_configs=[chat_config(echo_server)], name="test")
    yield echo_server
    session.shutdown()
