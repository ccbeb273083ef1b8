"""Seed-contract fixtures. The tool-service ones (``docker_client``: the session's containers are
removed at its end; ``tool_image``: the real tool-node image, built once) are tests/tool_service's,
reused here; on top of them, a node image with the seeds' user tools, and a tool manager whose
nodes run it."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_TOOL_SERVICE = Path(__file__).resolve().parents[1] / "tool_service"
if str(_TOOL_SERVICE) not in sys.path:
    sys.path.insert(0, str(_TOOL_SERVICE))

from tool_service_helpers import SESSION, TOKEN, LocalManager, free_port_block  # noqa: E402


def _tool_service_fixtures() -> Any:
    spec = importlib.util.spec_from_file_location("tool_service_fixtures", _TOOL_SERVICE / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_fixtures = _tool_service_fixtures()
docker_client = _fixtures.docker_client
tool_image = _fixtures.tool_image

PLUGIN = Path(__file__).resolve().parent / "node_tools" / "seed_node_tools.py"


@pytest.fixture(scope="session")
def seed_tool_image(docker_client: Any, tool_image: str) -> Iterator[str]:
    """The tool-node image plus the seeds' user tools, built as users build theirs
    (``msagent build-image --tools``); this session's tag, removed at the end."""
    from deploy.tool_node.custom_image import build_tools_image

    tag = f"msagent/tool-node-seeds:{SESSION}"
    _, added = build_tools_image([str(PLUGIN)], tag=tag, node_image=tool_image, progress=lambda line: None)
    assert {"my_image_gen", "RenewInstance", "image_gen"} <= set(added)
    yield tag
    import docker.errors

    try:
        docker_client.images.remove(tag, force=True)
    except docker.errors.APIError:
        pass  # still used by a container being removed: the session's cleanup takes it


@pytest.fixture
def seed_manager(seed_tool_image: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LocalManager]:
    """A tool manager (under uvicorn, nodes in-process) whose nodes run the seed image; agents and
    ``ToolServiceProxy`` find it through TOOL_MANAGER_SERVICE_URL / TOOL_MANAGER_AUTH, as in the seed."""
    start, end = free_port_block()
    cfg = {"manager_id": f"{SESSION}seeds", "default_image": seed_tool_image, "port_start": start,
           "port_end": end, "db_path": str(tmp_path / "manager.db")}  # fmt: skip
    with LocalManager(**cfg) as manager:
        monkeypatch.setenv("TOOL_MANAGER_SERVICE_URL", manager.url)
        monkeypatch.setenv("TOOL_MANAGER_AUTH", TOKEN)
        yield manager
