"""Tool-service fixtures: the real image (built once, reused), the manager on Ray Serve, and a
cleanup that removes every container this session started (found by its manager label)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tool_service_helpers import SESSION, TOKEN, client_for, port_range, session_containers


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    from deploy.tool_node.image import docker_client as connect

    client = connect()
    yield client
    import docker.errors

    for cid in session_containers(client):
        try:
            client.api.remove_container(cid, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as e:
            if e.status_code != 409:  # 409: being removed already
                raise


@pytest.fixture(scope="session")
def tool_image(docker_client: Any) -> str:
    from deploy.tool_node.image import build_image

    return build_image(progress=lambda line: print(line, flush=True))


@pytest.fixture(scope="session")
def manager_url(serve_port: int, tool_image: str) -> Iterator[str]:
    """The tool manager deployed on the session's Ray Serve (nodes are Ray actors)."""
    from ray import serve

    from deploy.tool_manager.config import ManagerConfig
    from deploy.tool_manager.serve_app import tool_manager_app

    start, end = port_range(0)
    cfg = ManagerConfig(manager_id=SESSION, default_image=tool_image, port_start=start, port_end=end,
                        pool_size=1, token=TOKEN)
    name = f"tool_manager_{SESSION}"
    serve.run(tool_manager_app(cfg), name=name, route_prefix=f"/{name}")
    url = f"http://127.0.0.1:{serve_port}/{name}"
    with client_for(url) as c:  # first request starts the manager (recovery, pool)
        assert c.get("/tools").status_code == 200
    yield url
    serve.delete(name)


