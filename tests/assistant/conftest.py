"""The assistant app under a real uvicorn server on 127.0.0.1 (a thread, a free port)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from deploy.assistant.app import create_app
from deploy.assistant.config import AssistantConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(config: AssistantConfig) -> Iterator[str]:
    """Serve a fresh app for ``config``; yields its base URL (``http://127.0.0.1:<port>``)."""
    app = create_app(config)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
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
