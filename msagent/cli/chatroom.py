"""``msagent chatroom``: the Gradio multi-role chat room (Ray by default, in-process with --local-mode)."""

from __future__ import annotations

import argparse
import logging


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "chatroom",
        help="the Gradio multi-role chat room",
        description="Open the multi-role chat room. With no model configured it runs offline on the "
        "embedded SmolLM2 model; --model-server/--api-base (or DASHSCOPE_API_KEY / OPENAI_API_KEY) pick another.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--model-server", default=None, help="dashscope | openai | local | scripted | any registered back-end")
    p.add_argument("--api-base", default=None, help="base URL of an OpenAI-compatible server (vLLM, Ollama, ...)")
    p.add_argument(
        "--model", default=None, help="model name, or PATH.gguf: a local GGUF model file (instead of SmolLM2-135M)"
    )
    p.add_argument("--api-key", default=None, help="API key (default: the back-end's environment variable)")
    p.add_argument("--stories", default=None, help="a YAML file with more stories ({stories: [...]})")
    p.add_argument("--local-mode", action="store_true", help="run every agent in this process instead of on Ray")
    p.add_argument("--ray-address", default=None, help="join this Ray cluster (default: start a local one)")
    p.add_argument("--max-rounds", type=int, default=3, help="director rounds before the user is asked (default 3)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _stop_on_sigterm()
    from apps.chatroom.models import choose_llm, describe
    from apps.chatroom.stories import all_stories
    from msagent.errors import MsagentError

    try:
        stories = all_stories(args.stories)
    except MsagentError as e:
        print(f"error: {e}")
        return 2
    if args.max_rounds < 1:
        print("error: --max-rounds must be at least 1")
        return 2
    if not 1 <= args.port <= 65535:
        print(f"error: --port {args.port} is not a TCP port (1-65535)")
        return 2
    llm = choose_llm(args.model_server, args.api_base, args.model, args.api_key)
    if llm["model_server"] == "local" and llm.get("model"):
        from pathlib import Path

        if not str(llm["model"]).endswith(".gguf") or not Path(llm["model"]).is_file():
            print(f"error: --model {llm['model']}: a local model is a .gguf file that exists")
            return 2
    problem = _port_problem(args.host, args.port)
    if problem:
        print(f"error: cannot serve the chat room on {args.host}:{args.port}: {problem}")
        return 2
    print(f"model: {describe(llm)}; runtime: {'in-process' if args.local_mode else 'Ray'}")
    cluster = None
    if not args.local_mode:
        # Ray starts in the background once the page answers and the first room has spoken; rooms
        # opened before it is ready run in this process (on two cores, Ray starting beside Gradio's
        # imports and the first words delayed both by seconds)
        from apps.chatroom.cluster import Cluster

        cluster = Cluster(args.ray_address)
    try:
        from apps.chatroom.server import serve

        serve(
            stories,
            llm,
            remote=not args.local_mode,
            host=args.host,
            port=args.port,
            max_rounds=args.max_rounds,
            cluster=cluster,
        )
    except OSError as e:  # the port is taken or the address is not ours: say so, no traceback
        print(f"error: cannot serve the chat room on {args.host}:{args.port}: {e}")
        return 2
    finally:
        if cluster is not None:
            cluster.shutdown()
    return 0


def _stop_on_sigterm() -> None:
    """SIGTERM stops the room as Ctrl-C does: the page, the rooms, then Ray (its workers with it),
    instead of the process ending at once with Ray's agents and the room actors left running.
    Set before Ray starts: Ray's fatal-signal handler then hands the signal on to this one, after
    arming a 3 s alarm that aborts the process (cancelled here: the clean stop may take longer)."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        signal.alarm(0)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _port_problem(host: str, port: int) -> str:
    """Why the page could not listen on ``host:port`` (checked before Ray is started for nothing)."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
            probe.bind((host, port))
    except OSError as e:
        return str(e)
    return ""
