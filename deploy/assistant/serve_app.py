"""The Ray Serve deployment of the assistant API, and the builder ``serve run``/``serve deploy`` use.

``serve run deploy/assistant/serve_config.yaml`` or ``serve run deploy.assistant.serve_app:build
model_server=openai api_base=http://127.0.0.1:8000/v1``. The replica builds its own FastAPI app
from the config it is given (late-bound ingress), so nothing but plain data is pickled.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from deploy.assistant.app import create_app
from deploy.assistant.config import AssistantConfig

DEPLOYMENT_NAME = "assistant"
MAX_DEFAULT_REPLICAS = 4


def default_replicas() -> int:
    """What ``msagent serve`` and the config files deploy when not told: one replica per core of
    this machine, at most 4. A replica is one Python event loop, so it uses at most one core; the
    relay's requests are CPU work in the replica (parsing, the back-end call, the answer) and on a
    2-core machine one replica left a core to the rest (``benchmarks/bench_assistant.py``). The
    replicas share nothing in memory that a request needs from another (uploads are on disk)."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_REPLICAS))


@serve.deployment(
    name=DEPLOYMENT_NAME,
    # the work is waiting on the model server, not CPU: many requests per replica, no reserved CPU
    max_ongoing_requests=256,
    ray_actor_options={"num_cpus": 0},
    # no access-log line per request (a few % of the replica's CPU at high rates); access_log=True
    # (`--access-log`) turns it on
    logging_config={"enable_access_log": False},
)
@serve.ingress()
class AssistantDeployment:
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = AssistantConfig.from_env(**(config or {}))

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self.config)


def assistant_app(config: AssistantConfig | dict[str, Any] | None = None, **options: Any) -> Application:
    """A bound application; ``options`` go to ``.options()`` (e.g. ``num_replicas``)."""
    data = config.model_dump(exclude_none=True) if isinstance(config, AssistantConfig) else dict(config or {})
    deployment: Any = AssistantDeployment  # a serve.Deployment at run time
    if options:
        deployment = deployment.options(**options)
    return deployment.bind(data)


def build(args: dict[str, Any]) -> Application:
    """Application builder for Serve config files: ``args`` are ``AssistantConfig`` fields, plus
    ``num_replicas`` (default ``default_replicas()``) and ``access_log`` (a log line per request)."""
    args = dict(args or {})
    options: dict[str, Any] = {"num_replicas": int(args.pop("num_replicas", default_replicas()))}
    if str(args.pop("access_log", "")).lower() in ("1", "true", "yes"):
        options["logging_config"] = {"enable_access_log": True}
    if "native_tool_calling" in args and isinstance(args["native_tool_calling"], str):
        args["native_tool_calling"] = args["native_tool_calling"].lower() in ("1", "true", "yes")
    return assistant_app(args, **options)
