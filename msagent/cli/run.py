"""``msagent run <scenario> [--remote/--local] [--rounds N] [--transcript PATH] [--resume | --fresh]``.

A scenario whose last run did not finish is refused with a message naming that run: ``--resume``
continues it from its durable log, ``--fresh`` discards it and starts over."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a multi-agent scenario file",
        description="Run a multi-agent scenario file (YAML or JSON).",
    )
    parser.add_argument("scenario", help="scenario file (.yaml, .yml or .json)")
    mode = parser.add_mutually_exclusive_group()
    # default None: the scenario's own 'remote' flag decides
    mode.add_argument(
        "--remote", dest="remote", action="store_true", default=None, help="agents as Ray actors"
    )
    mode.add_argument("--local", dest="remote", action="store_false", help="everything in this process")
    parser.add_argument("--rounds", type=int, default=None, help="override the scenario's rounds")
    parser.add_argument("--transcript", default=None, help="where to write the transcript (JSON lines)")
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue this scenario's unfinished run")
    again.add_argument("--fresh", action="store_true", help="discard this scenario's unfinished run, start over")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from msagent.runtime.job import run_from_args

    return run_from_args(args)
