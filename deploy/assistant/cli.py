"""``msagent serve assistant``: the assistant API on Ray Serve (default) or plain uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from deploy.assistant.config import DEFAULT_PORT
from deploy.serve_env import use_fast_serve_env


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "assistant",
        help="the OpenAI-compatible assistant API (port 31512)",
        description="Serve /v1/chat/completions, /v1/assistants/lite and /v1/files (OpenAPI at /docs). "
        "Environment: MODEL_SERVER, OPENAI_API_BASE, OPENAI_API_KEY, DASHSCOPE_API_KEY.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--model-server", default=None, help="dashscope | openai | any registered back-end (env MODEL_SERVER)")
    p.add_argument("--api-base", default=None, help="an OpenAI-compatible server, e.g. vLLM's http://127.0.0.1:8000/v1")
    p.add_argument("--api-key", default=None, help="back-end key (default: OPENAI_API_KEY / DASHSCOPE_API_KEY)")
    p.add_argument("--model", default=None, help="model used when a request names none")
    p.add_argument("--prompt-fncall", action="store_true", help="function calling through the ReAct prompt, not natively")
    p.add_argument("--use-tool-api", action="store_true",
                   help="run assistants/lite tools in tool-node containers through the tool manager "
                        "(TOOL_MANAGER_SERVICE_URL, token in TOOL_MANAGER_AUTH)")
    p.add_argument("--tool-manager-url", default=None, help="the tool manager (default TOOL_MANAGER_SERVICE_URL or :31511)")
    p.add_argument("--tool-tenant-id", default=None, help="tenant of the tool nodes this server creates (default 'default')")
    p.add_argument("--uvicorn", action="store_true", help="run under plain uvicorn instead of Ray Serve (debugging)")
    p.add_argument("--num-replicas", type=int, default=1, help="Serve replicas (default 1)")
    p.add_argument("--ray-address", default=None, help="join this Ray cluster (default: start a local one)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from deploy.assistant.config import AssistantConfig

    config = AssistantConfig.from_env(
        model_server=args.model_server,
        api_base=args.api_base,
        api_key=args.api_key,
        model=args.model,
        native_tool_calling=False if args.prompt_fncall else None,
        use_tool_api=True if args.use_tool_api else None,
        tool_manager_url=args.tool_manager_url,
        tool_tenant_id=args.tool_tenant_id,
    )
    if args.api_base and not args.model_server and not os.environ.get("MODEL_SERVER"):
        config.model_server = "openai"  # a base URL means an OpenAI-compatible server
    if args.uvicorn:
        import uvicorn

        from deploy.assistant.app import create_app

        uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="info")
        return 0
    if args.num_replicas < 1:
        sys.stderr.write("error: --num-replicas must be at least 1\n")
        return 2
    use_fast_serve_env()
    import ray
    from ray import serve

    from deploy.assistant.serve_app import assistant_app

    ray.init(address=args.ray_address)
    serve.start(http_options={"host": args.host, "port": args.port})
    serve.run(assistant_app(config, num_replicas=args.num_replicas), name="assistant", route_prefix="/")
    sys.stdout.write(f"assistant API on http://{args.host}:{args.port}/v1 (docs at /docs); Ctrl-C stops it\n")
    try:
        import threading

        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        serve.delete("assistant")
    return 0
