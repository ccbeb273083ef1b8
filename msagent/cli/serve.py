"""``msagent serve assistant|tool-manager|all|env``: the HTTP services (Ray Serve, or plain uvicorn)."""

from __future__ import annotations

import argparse
import importlib

# each module exposes register(serve_subparsers) adding one service
SERVICES = [
    "deploy.assistant.cli",
    "deploy.tool_manager.cli",
    "deploy.serve_all",
    "deploy.serve_cli",  # `serve env`: the settings for a `ray start` cluster
]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="run an HTTP service (assistant API, tool manager, both)")
    services = parser.add_subparsers(dest="service", metavar="SERVICE", required=True)
    for module in SERVICES:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name is None or not module.startswith(e.name):
                raise
            continue  # that service is not built yet
        mod.register(services)
