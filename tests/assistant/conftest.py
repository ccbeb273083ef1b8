"""The assistant app under a real uvicorn server on 127.0.0.1 (a thread, a free port)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from deploy.assistant.app import create_app
from deploy.assistant.config import AssistantConfig
from msagent.testing.asgi import uvicorn_thread


@contextmanager
def running(config: AssistantConfig) -> Iterator[str]:
    """Serve a fresh app for ``config``; yields its base URL (``http://127.0.0.1:<port>``)."""
    app = create_app(config)
    try:
        with uvicorn_thread(app) as url:
            yield url
    finally:
        app.state.services.close()


def scripted(replies: list[Any], tmp: Any, **more: Any) -> AssistantConfig:
    """A server config whose back-end is the scripted fake model (no network)."""
    return AssistantConfig(
        model_server="scripted",
        model="scripted",
        llm_extra={"replies": replies, "cycle": True},
        knowledge_dir=str(tmp),
        **more,
    )


@pytest.fixture
def scripted_url(tmp_path: Any) -> Iterator[str]:
    reply = {"text": "It is sunny.", "tool_calls": [{"name": "amap_weather", "arguments": {"location": "海淀区"}}]}
    with running(scripted([reply], tmp_path, max_upload_bytes=4096)) as url:
        yield url


@pytest.fixture
def serve_api() -> Any:
    """``with serve_api(config) as base_url:`` runs the app for one config."""
    return running


@pytest.fixture
def make_scripted() -> Any:
    return scripted
