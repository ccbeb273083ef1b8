"""The Ray Serve deployment of the assistant API, and the builder ``serve run``/``serve deploy`` use.

``serve run deploy/assistant/serve_config.yaml`` or ``serve run deploy.assistant.serve_app:build
model_server=openai api_base=http://127.0.0.1:8000/v1``. The replica builds its own FastAPI app
from the config it is given (late-bound ingress), so nothing but plain data is pickled.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from deploy.assistant.app import create_app
from deploy.assistant.config import AssistantConfig

DEPLOYMENT_NAME = "assistant"


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
    ``num_replicas`` and ``access_log`` (a log line per request)."""
    args = dict(args or {})
    options: dict[str, Any] = {"num_replicas": int(args.pop("num_replicas"))} if "num_replicas" in args else {}
    if str(args.pop("access_log", "")).lower() in ("1", "true", "yes"):
        options["logging_config"] = {"enable_access_log": True}
    if "native_tool_calling" in args and isinstance(args["native_tool_calling"], str):
        args["native_tool_calling"] = args["native_tool_calling"].lower() in ("1", "true", "yes")
    return assistant_app(args, **options)
