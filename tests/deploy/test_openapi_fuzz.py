"""Property-based requests (schemathesis) against both services' OpenAPI documents over real HTTP:
no 5xx, and every response is a documented status whose body matches its documented schema.
Bounded: a few hundred requests in all."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from deploy.assistant.app import create_app as assistant_app
from deploy.assistant.config import AssistantConfig
from deploy.tool_manager.app import create_app as manager_app
from deploy.tool_manager.config import ManagerConfig
from msagent.testing.asgi import uvicorn_thread

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TOKEN = "fuzz-token"
FUZZ = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def assistant_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = AssistantConfig(model_server="scripted", model="scripted", llm_extra={"replies": ["ok"], "cycle": True},
                             knowledge_dir=str(tmp_path_factory.mktemp("fuzz-knowledge")), max_upload_bytes=64 * 1024)
    with uvicorn_thread(assistant_app(config)) as url:
        yield url


@pytest.fixture(scope="module")
def manager_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # no Docker work can start: an image that is not there makes every create a clear 404
    config = ManagerConfig(manager_id=f"fuzz{os.getpid()}", backend="local", pool_size=0, token=TOKEN,
                           default_image="msagent/not-built:fuzz", db_path=str(tmp_path_factory.mktemp("fuzz") / "m.db"))
    with uvicorn_thread(manager_app(config)) as url:
        yield url


assistant = schemathesis.pytest.from_fixture("assistant_schema")
# the seed's REST surface and XAgent's router (/xagent/...: its {"detail"} bodies are documented per status)
manager = schemathesis.pytest.from_fixture("manager_schema")


@pytest.fixture(scope="module")
def assistant_schema(assistant_url: str) -> Any:
    return schemathesis.openapi.from_url(f"{assistant_url}/openapi.json")


@pytest.fixture(scope="module")
def manager_schema(manager_url: str) -> Any:
    return schemathesis.openapi.from_url(f"{manager_url}/openapi.json")


@assistant.parametrize()
@FUZZ
def test_assistant_api(case: Any, assistant_url: str) -> None:
    case.call_and_validate(base_url=assistant_url, checks=CHECKS)


@manager.parametrize()
@FUZZ
def test_tool_manager_api(case: Any, manager_url: str) -> None:
    case.call_and_validate(base_url=manager_url, headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)
