"""Session-wide fixtures: a private data dir, one local Ray cluster, one Serve instance."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from msagent.ports import free_port

# No test may reach a hosted model: any key the environment has is dropped.
for _var in ("OPENAI_API_KEY", "DASHSCOPE_API_KEY", "OPENAI_API_BASE", "MODEL_SERVER", "RAY_ADDRESS"):
    os.environ.pop(_var, None)




@pytest.fixture(scope="session", autouse=True)
def msagent_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("msagent-data")
    old = os.environ.get("MSAGENT_DATA_DIR")
    os.environ["MSAGENT_DATA_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("MSAGENT_DATA_DIR", None)
    else:
        os.environ["MSAGENT_DATA_DIR"] = old


@pytest.fixture(scope="session")
def ray_cluster(msagent_data_dir: Path) -> Iterator[None]:
    """One private local Ray cluster for the whole session (never joins a running one)."""
    import ray

    ray.init(
        address="local",
        num_cpus=4,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"MSAGENT_DATA_DIR": str(msagent_data_dir)}},
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def serve_port(ray_cluster: None) -> Iterator[int]:
    """Ray Serve on a free port of 127.0.0.1, shared by every Serve test of the session."""
    from ray import serve

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    yield port
    serve.shutdown()
