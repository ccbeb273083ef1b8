"""The ``msagent`` command. Each subcommand lives in its own module with ``register(subparsers)``;
heavy imports happen inside the handlers so that ``msagent --help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# module paths, each exposing register(subparsers: argparse._SubParsersAction) -> None
COMMANDS: list[str] = [
    # each area adds its module here, e.g. "msagent.cli.demo"
    "msagent.cli.build_image",
    "msagent.cli.chatroom",
    "msagent.cli.demo",
    "msagent.cli.run",
    "msagent.cli.serve",
    "msagent.cli.tools",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="msagent",
        description="msagent: a Ray-based distributed multi-agent runtime.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
