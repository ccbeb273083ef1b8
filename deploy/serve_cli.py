"""What the ``msagent serve ...`` commands share: their network flags, the run loop on Serve, and
``msagent serve env`` (the settings a ``ray start`` cluster needs for the same private ingress)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from deploy.serve_host import ServeHost
from msagent.errors import ConfigError

log = logging.getLogger(__name__)


def add_network_flags(p: argparse.ArgumentParser, default_port: int) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=default_port, help=f"port (default {default_port})")
    p.add_argument("--address", "--ray-address", dest="address", default=None,
                   help="join this Ray cluster (e.g. one from `ray start --head`; see `msagent serve env`) "
                        "instead of starting a private one")


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def serve_until_signal(host: ServeHost, apps: list[tuple[Any, str, str]], banner: str) -> int:
    """Start ``host``, run ``apps`` ((application, name, route prefix), ...), print ``banner``, and
    wait for SIGINT/SIGTERM; then stop everything, whatever happened."""
    try:
        host.start()
        for app, name, prefix in apps:
            host.run(app, name, prefix)
        sys.stdout.write(banner.rstrip("\n") + "\nCtrl-C or SIGTERM stops it\n")
        sys.stdout.flush()
        host.wait_for_signal()
    except ConfigError as e:
        sys.stderr.write(f"error: {e.message}\n")
        return 2
    finally:
        host.stop()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "env",
        help="print the settings a `ray start` cluster needs for msagent's private, fast ingress",
        description="Prints `export` lines (HAProxy ingress, throughput settings, free fallback ports, HAProxy "
        "files in a private folder, side listeners on 127.0.0.1). On each node: "
        "eval \"$(msagent serve env)\" && ray start ...; then `msagent serve ... --address auto`.",
    )
    p.add_argument("--dir", default=None,
                   help="the private folder for HAProxy's files (default /tmp/msagent-cluster-<uid>)")
    p.set_defaults(handler=_env)


def _env(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from deploy.serve_env import ServeEnv, exports

    root = Path(args.dir or f"/tmp/msagent-cluster-{os.getuid()}")
    try:
        serve_env = ServeEnv.create(root)
    except (ValueError, PermissionError) as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    sys.stdout.write(exports(serve_env))
    return 0
