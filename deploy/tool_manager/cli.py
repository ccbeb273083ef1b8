"""``msagent serve tool-manager``: the tool manager on Ray Serve (default) or plain uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys
import threading

from deploy.tool_manager.config import DEFAULT_PORT


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tool-manager",
        help="the tool manager (port 31511): tool nodes in hardened Docker containers",
        description="Serve the tool manager API (OpenAPI at /docs). Environment: TOOL_MANAGER_TOKEN.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--token", default=None, help="bearer token clients must send (default: $TOOL_MANAGER_TOKEN)")
    p.add_argument("--image", default=None, help="default tool-node image (default msagent/tool-node:latest)")
    p.add_argument("--pool-size", type=int, default=None, help="warm nodes kept ready (default 1)")
    p.add_argument("--idle-minutes", type=float, default=None, help="stop nodes idle this long (default 30)")
    p.add_argument("--manager-id", default=None, help="labels this manager's containers (default 'default')")
    p.add_argument("--uvicorn", action="store_true", help="plain uvicorn, nodes in-process (debugging)")
    p.add_argument("--ray-address", default=None, help="join this Ray cluster (default: start a local one)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from pydantic import ValidationError

    from deploy.tool_manager.config import ManagerConfig

    try:
        config = ManagerConfig.from_env(
            token=args.token, default_image=args.image, pool_size=args.pool_size, idle_minutes=args.idle_minutes,
            manager_id=args.manager_id, backend="local" if args.uvicorn else "ray",
        )
    except ValidationError as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    if args.uvicorn:
        import uvicorn

        from deploy.tool_manager.app import create_app

        uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="info")
        return 0
    from deploy.serve_env import use_fast_serve_env

    use_fast_serve_env()  # before Ray starts
    import ray
    from ray import serve

    from deploy.tool_manager.serve_app import DEPLOYMENT_NAME, tool_manager_app

    ray.init(address=args.ray_address)
    serve.start(http_options={"host": args.host, "port": args.port})
    serve.run(tool_manager_app(config), name=DEPLOYMENT_NAME, route_prefix="/")
    sys.stdout.write(f"tool manager on http://{args.host}:{args.port} (docs at /docs); Ctrl-C stops it\n")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        serve.delete(DEPLOYMENT_NAME)
    return 0
