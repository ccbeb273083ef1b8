"""``msagent serve all``: the assistant API and the tool manager in one Ray cluster, one Serve.

One HTTP port: the assistant at ``/`` (``/v1/...``, as its clients expect) and the tool manager
under ``/tool_manager`` (``TOOL_MANAGER_SERVICE_URL=http://host:port/tool_manager``). With
``--use-tool-api`` the assistant's tools run through this tool manager, token included.
``deploy/serve_config.yaml`` is the same deployment as a Serve config file.
"""

from __future__ import annotations

import argparse
import sys

from deploy.assistant.cli import add_assistant_flags, assistant_config, deployment_options, local_model_server
from deploy.assistant.config import DEFAULT_PORT
from deploy.serve_cli import add_network_flags, serve_until_signal, setup_logging
from deploy.tool_manager.cli import add_manager_flags, manager_config
from msagent.errors import MsagentError

TOOL_MANAGER_ROUTE = "/tool_manager"
ASSISTANT_ROUTE = "/"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "all",
        help="the assistant API and the tool manager in one Ray cluster (one port, two route prefixes)",
        description="The assistant API at / and the tool manager under /tool_manager, one Serve instance. "
        "Flags of `serve assistant` and `serve tool-manager` apply.",
    )
    add_network_flags(p, DEFAULT_PORT)
    add_assistant_flags(p)
    add_manager_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    setup_logging()
    from deploy.assistant.serve_app import DEPLOYMENT_NAME as ASSISTANT
    from deploy.assistant.serve_app import assistant_app
    from deploy.serve_host import ServeHost
    from deploy.tool_manager.serve_app import DEPLOYMENT_NAME as TOOL_MANAGER
    from deploy.tool_manager.serve_app import tool_manager_app

    server = None
    try:
        manager = manager_config(args, "ray")
        server = local_model_server(args)
        host = ServeHost(args.host, args.port, args.address)
        tools_url = f"{host.url}{TOOL_MANAGER_ROUTE}"
        assistant = assistant_config(
            args, server.base_url if server else None,
            # the co-deployed tool manager, unless told otherwise
            tool_manager_url=args.tool_manager_url or tools_url,
            tool_manager_token=manager.token,
        )
        if server is not None and server.proc is not None:
            host.add_process(server.proc)
        apps = [
            (tool_manager_app(manager), TOOL_MANAGER, TOOL_MANAGER_ROUTE),
            (assistant_app(assistant, **deployment_options(args)), ASSISTANT, ASSISTANT_ROUTE),
        ]
        banner = (f"assistant API on {host.url}/v1 (docs at /docs)\n"
                  f"tool manager on {tools_url} (docs at {TOOL_MANAGER_ROUTE}/docs)")
        return serve_until_signal(host, apps, banner)
    except MsagentError as e:
        sys.stderr.write(f"error: {e.message}\n")
        return 2
    finally:
        if server is not None:
            server.stop()
