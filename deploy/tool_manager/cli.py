"""``msagent serve tool-manager``: the tool manager on Ray Serve (default) or plain uvicorn.

It never runs open by accident: the token comes from ``--token``, ``TOOL_MANAGER_TOKEN`` or the
token file (created on first start, mode 600, printed once); ``--no-auth`` runs it without one, on
a loopback address only, with a warning.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from deploy.serve_cli import add_network_flags, serve_until_signal, setup_logging
from deploy.tool_manager.config import DEFAULT_PORT, ManagerConfig
from msagent.errors import ConfigError

log = logging.getLogger(__name__)
ROUTE = "/"


def add_manager_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--token", default=None,
                   help="bearer token clients must send (default: $TOOL_MANAGER_TOKEN, else the token file, created "
                        "on first start)")
    p.add_argument("--no-auth", action="store_true",
                   help="run WITHOUT a token (loopback addresses only; anyone on this machine can use it)")
    p.add_argument("--image", default=None, help="default tool-node image (default msagent/tool-node:latest)")
    p.add_argument("--pool-size", type=int, default=None, help="warm nodes kept ready (default 1)")
    p.add_argument("--idle-minutes", type=float, default=None, help="stop nodes idle this long (default 30)")
    p.add_argument("--manager-id", default=None, help="labels and names this manager's containers (default 'default')")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tool-manager",
        help="the tool manager (port 31511): tool nodes in hardened Docker containers",
        description="Serve the tool manager API (OpenAPI at /docs). Environment: TOOL_MANAGER_TOKEN.",
    )
    add_network_flags(p, DEFAULT_PORT)
    add_manager_flags(p)
    p.add_argument("--uvicorn", action="store_true", help="plain uvicorn, nodes in-process (debugging)")
    p.set_defaults(handler=run)


def resolve_auth(args: argparse.Namespace) -> dict[str, object]:
    """``token``/``no_auth`` for ManagerConfig from the flags, the environment or the token file."""
    from deploy.tool_manager.auth import is_loopback, load_or_create_token, token_path

    if args.no_auth:
        if args.token or os.environ.get("TOOL_MANAGER_TOKEN"):
            raise ConfigError("--no-auth and a token (--token or TOOL_MANAGER_TOKEN) contradict each other; give one")
        if not is_loopback(args.host):
            raise ConfigError(f"--no-auth is allowed on a loopback address only, not --host {args.host}; "
                              "give a token instead")
        log.warning("the tool manager runs WITHOUT a token (--no-auth): any program on this machine can create, "
                    "call and remove its containers")
        return {"no_auth": True}
    token = args.token or os.environ.get("TOOL_MANAGER_TOKEN")
    if not token:
        token, created = load_or_create_token()
        path = token_path()
        if created:  # the one time it is shown
            sys.stdout.write(f"tool manager token (new; stored in {path}, mode 600): {token}\n"
                             "clients send 'Authorization: Bearer <token>' (ToolServiceProxy: TOOL_MANAGER_AUTH)\n")
        else:
            sys.stdout.write(f"tool manager token: the one in {path}\n")
        sys.stdout.flush()
    return {"token": token}


def manager_config(args: argparse.Namespace, backend: str) -> ManagerConfig:
    from pydantic import ValidationError

    try:
        return ManagerConfig.from_env(
            **resolve_auth(args), default_image=args.image, pool_size=args.pool_size, idle_minutes=args.idle_minutes,
            manager_id=args.manager_id, backend=backend,
        )
    except ValidationError as e:
        raise ConfigError(str(e)) from None


def run(args: argparse.Namespace) -> int:
    setup_logging()
    try:
        config = manager_config(args, "local" if args.uvicorn else "ray")
    except ConfigError as e:
        sys.stderr.write(f"error: {e.message}\n")
        return 2
    if args.uvicorn:
        import uvicorn

        from deploy.tool_manager.app import create_app

        uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="info")
        return 0
    from deploy.serve_host import ServeHost
    from deploy.tool_manager.serve_app import DEPLOYMENT_NAME, tool_manager_app

    host = ServeHost(args.host, args.port, args.address)
    apps = [(tool_manager_app(config), DEPLOYMENT_NAME, ROUTE)]
    return serve_until_signal(host, apps, f"tool manager on {host.url} (docs at /docs)")
