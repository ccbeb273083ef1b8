"""``msagent serve assistant``: the assistant API on Ray Serve (default) or plain uvicorn.

``--model PATH.gguf [--served-model-name NAME]`` also starts a local OpenAI-compatible model server
(llama.cpp's) for that model and puts the API in front of it, as the seed's
``run_assistant_server.sh --model ... --served-model-name ...`` does with vLLM.
"""

from __future__ import annotations

import argparse
import os
import sys

from deploy.assistant.config import DEFAULT_PORT, AssistantConfig
from deploy.assistant.llama_server import LlamaServer, is_model_file
from deploy.serve_cli import add_network_flags, serve_until_signal, setup_logging
from msagent.errors import ConfigError, MsagentError

ROUTE = "/"


def add_assistant_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-server", default=None, help="dashscope | openai | any registered back-end (env MODEL_SERVER)")
    p.add_argument("--api-base", default=None, help="an OpenAI-compatible server, e.g. vLLM's http://127.0.0.1:8000/v1")
    p.add_argument("--api-key", default=None, help="back-end key (default: OPENAI_API_KEY / DASHSCOPE_API_KEY)")
    p.add_argument("--model", default=None,
                   help="model used when a request names none; a .gguf file starts llama.cpp's server for it locally")
    p.add_argument("--served-model-name", default=None,
                   help="with --model PATH.gguf: the name clients ask for (default: the file name)")
    p.add_argument("--prompt-fncall", action="store_true", help="function calling through the ReAct prompt, not natively")
    p.add_argument("--use-tool-api", action="store_true",
                   help="run assistants/lite tools in tool-node containers through the tool manager "
                        "(TOOL_MANAGER_SERVICE_URL, token in TOOL_MANAGER_AUTH)")
    p.add_argument("--tool-manager-url", default=None, help="the tool manager (default TOOL_MANAGER_SERVICE_URL or :31511)")
    p.add_argument("--tool-tenant-id", default=None, help="tenant of the tool nodes this server creates (default 'default')")
    p.add_argument("--num-replicas", type=int, default=None,
                   help="Serve replicas (default: one per CPU core of this machine, at most 4)")
    p.add_argument("--access-log", action="store_true", help="a log line per request in the replica's log (off: CPU)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "assistant",
        help="the OpenAI-compatible assistant API (port 31512)",
        description="Serve /v1/chat/completions, /v1/assistants/lite and /v1/files (OpenAPI at /docs). "
        "Environment: MODEL_SERVER, OPENAI_API_BASE, OPENAI_API_KEY, DASHSCOPE_API_KEY.",
    )
    add_network_flags(p, DEFAULT_PORT)
    add_assistant_flags(p)
    p.add_argument("--uvicorn", action="store_true", help="run under plain uvicorn instead of Ray Serve (debugging)")
    p.set_defaults(handler=run)


def assistant_config(args: argparse.Namespace, local_base: str | None = None, **more: object) -> AssistantConfig:
    """The server's config from the flags (and the seed's environment variables)."""
    local = is_model_file(args.model)
    fields: dict[str, object] = dict(
        model_server="openai" if local else args.model_server,
        api_base=local_base if local else args.api_base,
        api_key=args.api_key,
        model=(args.served_model_name or os.path.splitext(os.path.basename(args.model))[0]) if local else args.model,
        # llama.cpp's server has no native tools for most chat formats: the prompt protocol
        native_tool_calling=False if (args.prompt_fncall or local) else None,
        use_tool_api=True if args.use_tool_api else None,
        tool_manager_url=args.tool_manager_url,
        tool_tenant_id=args.tool_tenant_id,
    )
    config = AssistantConfig.from_env(**{**fields, **{k: v for k, v in more.items() if v is not None}})
    if args.api_base and not args.model_server and not os.environ.get("MODEL_SERVER"):
        config.model_server = "openai"  # a base URL means an OpenAI-compatible server
    return config


def deployment_options(args: argparse.Namespace) -> dict[str, object]:
    from deploy.assistant.serve_app import default_replicas

    options: dict[str, object] = {"num_replicas": args.num_replicas or default_replicas()}
    if args.access_log:
        options["logging_config"] = {"enable_access_log": True}
    return options


def local_model_server(args: argparse.Namespace) -> LlamaServer | None:
    """The llama.cpp server for ``--model PATH.gguf`` (started), else None."""
    if args.served_model_name and not is_model_file(args.model):
        raise ConfigError("--served-model-name goes with --model PATH.gguf")
    if not is_model_file(args.model):
        return None
    server = LlamaServer(args.model, args.served_model_name)
    server.start()
    return server


def run(args: argparse.Namespace) -> int:
    setup_logging()
    if args.num_replicas is not None and args.num_replicas < 1:
        sys.stderr.write("error: --num-replicas must be at least 1\n")
        return 2
    try:
        server = local_model_server(args)
    except MsagentError as e:
        sys.stderr.write(f"error: {e.message}\n")
        return 2
    base = server.base_url if server is not None else None
    try:
        config = assistant_config(args, base)
        if args.uvicorn:
            import uvicorn

            from deploy.assistant.app import create_app

            uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="info")
            return 0
        from deploy.assistant.serve_app import DEPLOYMENT_NAME, assistant_app
        from deploy.serve_host import ServeHost

        host = ServeHost(args.host, args.port, args.address)
        if server is not None and server.proc is not None:
            host.add_process(server.proc)
        banner = f"assistant API on {host.url}/v1 (docs at /docs)"
        if base:
            banner += f"\nmodel {config.model!r}: llama.cpp's server on {base}"
        return serve_until_signal(host, [(assistant_app(config, **deployment_options(args)), DEPLOYMENT_NAME, ROUTE)],
                                  banner)
    finally:
        if server is not None:
            server.stop()
