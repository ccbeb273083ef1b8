"""The tool manager as a Ray Serve deployment (one replica: it owns the node actors and the pool).

``serve run deploy.tool_manager.serve_app:build token=T``; the replica builds its FastAPI app from
plain config data (late-bound ingress), and its nodes are Ray actors.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from deploy.tool_manager.app import create_app
from deploy.tool_manager.config import ManagerConfig

log = logging.getLogger(__name__)
DEPLOYMENT_NAME = "tool_manager"


@serve.deployment(
    name=DEPLOYMENT_NAME,
    num_replicas=1,
    max_ongoing_requests=512,
    ray_actor_options={"num_cpus": 0},
)
@serve.ingress()
class ToolManagerDeployment:
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = ManagerConfig.from_env(**(config or {}))

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self.config)


def tool_manager_app(config: ManagerConfig | dict[str, Any] | None = None) -> Application:
    data = config.model_dump(exclude_none=True) if isinstance(config, ManagerConfig) else dict(config or {})
    data["backend"] = "ray"
    deployment: Any = ToolManagerDeployment
    return deployment.bind(data)


def build(args: dict[str, Any]) -> Application:
    """Application builder for ``serve run``/config files: ``args`` are ``ManagerConfig`` fields.

    Without ``token`` or ``no_auth`` in ``args``, the token is ``TOOL_MANAGER_TOKEN`` (set it where the
    cluster starts, e.g. from a Kubernetes Secret), else the token file of this node's data dir,
    created on first start (its path is logged, not the token)."""
    args = dict(args or {})
    if isinstance(args.get("no_auth"), str):
        args["no_auth"] = args["no_auth"].lower() in ("1", "true", "yes")
    if not args.get("token") and not args.get("no_auth"):
        args["token"] = os.environ.get("TOOL_MANAGER_TOKEN")
        if not args["token"]:
            from deploy.tool_manager.auth import load_or_create_token, token_path

            args["token"], created = load_or_create_token()
            log.warning("tool manager token: %s %s (mode 600); clients send 'Authorization: Bearer <token>'",
                        "created in" if created else "read from", token_path())
    return tool_manager_app(args)
