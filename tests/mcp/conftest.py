"""MCP fixtures: the demo server (msagent/testing/mcp_demo_server.py, written with the SDK) over HTTP, and a tool
manager with its /mcp endpoint."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp_helpers import start_http_demo, stop


@pytest.fixture(scope="session")
def http_demo() -> Iterator[str]:
    """The demo server on streamable HTTP (127.0.0.1, a free port): its /mcp URL."""
    proc, url = start_http_demo(DEMO_PREFIX="remote:")
    yield url
    stop(proc)


# --- the tool manager (tests/tool_service's helpers, a manager of our own on the session's Serve) ---
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tool_service"))
from tool_service_helpers import SESSION, TOKEN, client_for, port_range, session_containers  # noqa: E402

MANAGER_ID = f"{SESSION}mcp"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    from deploy.tool_node.image import docker_client as connect

    client = connect()
    yield client
    import docker.errors

    for cid in session_containers(client):
        try:
            client.api.remove_container(cid, force=True)
        except docker.errors.APIError as e:
            if not isinstance(e, docker.errors.NotFound) and e.status_code != 409:
                raise


@pytest.fixture(scope="session")
def tool_image(docker_client: Any) -> str:
    from deploy.tool_node.image import build_image

    return build_image(progress=lambda line: print(line, flush=True))


@pytest.fixture(scope="session")
def mcp_manager_url(serve_port: int, tool_image: str) -> Iterator[str]:
    """A tool manager on the session's Ray Serve (nodes are Ray actors), with its /mcp endpoint."""
    from ray import serve

    from deploy.tool_manager.config import ManagerConfig
    from deploy.tool_manager.serve_app import tool_manager_app

    start, end = port_range(8)
    cfg = ManagerConfig(manager_id=MANAGER_ID, default_image=tool_image, port_start=start, port_end=end,
                        pool_size=1, token=TOKEN)  # a warm node: creates take it, the pool refills meanwhile
    name = f"tool_manager_{MANAGER_ID}"
    serve.run(tool_manager_app(cfg), name=name, route_prefix=f"/{name}")
    url = f"http://127.0.0.1:{serve_port}/{name}"
    with client_for(url) as c:  # the first request starts the manager
        assert c.get("/tools").status_code == 200
    yield url
    serve.delete(name)
