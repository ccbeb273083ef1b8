"""``msagent build-image``: build the tool-node image offline (a no-op when it is up to date)."""

from __future__ import annotations

import argparse
import sys
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "build-image",
        help="build the tool-node Docker image (offline; tagged by a content hash)",
        description="Build msagent/tool-node:<hash> and :latest. Without a local python:3.11-slim, a "
        "Debian base is built with debootstrap from the host's apt archive; wheels are downloaded on the host.",
    )
    p.add_argument("--base-image", default=None, help="a local base image with python3 and pip")
    p.add_argument("--force", action="store_true", help="rebuild even when the tag exists")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from deploy.tool_node.image import build_image
    from msagent.errors import MsagentError

    start = time.monotonic()

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - start:6.1f}s] {line}", flush=True)

    try:
        tag = build_image(base_image=args.base_image, progress=progress, force=args.force)
    except MsagentError as e:
        sys.stderr.write(f"error: {e.message}\n")
        return 1
    print(tag)
    return 0
