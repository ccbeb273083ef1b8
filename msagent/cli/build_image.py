"""``msagent build-image``: build the tool-node image offline (a no-op when it is up to date);
with ``--tools``, also a derived image serving the user's own registered tools."""

from __future__ import annotations

import argparse
import sys
import time


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "build-image",
        help="build the tool-node Docker image (offline; tagged by a content hash)",
        description="Build msagent/tool-node:<hash> and :latest. Without a local python:3.11-slim, a "
        "Debian base is built with debootstrap from the host's apt archive; wheels are downloaded on the host. "
        "With --tools, build msagent/tool-node-custom:<hash> (and :latest) on top, serving your own tools: "
        "start the manager with --image <that tag>, or pass it as tool_image.",
    )
    p.add_argument("--base-image", default=None, help="a local base image with python3 and pip")
    p.add_argument("--force", action="store_true", help="rebuild even when the tag exists")
    p.add_argument("--tools", nargs="+", default=None, metavar="MODULE_OR_PATH",
                   help="your tool modules: .py files, package folders or importable module names whose "
                        "@register_tool classes the image serves")
    p.add_argument("--requirements", action="append", default=[], metavar="FILE",
                   help="a requirements file for your tools (repeatable; a package's requirements.txt is read too)")
    p.add_argument("--tag", default=None, help="tag of the image with your tools (default msagent/tool-node-custom:<hash>)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from deploy.tool_node.image import build_image
    from msagent.errors import MsagentError

    start = time.monotonic()

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - start:6.1f}s] {line}", flush=True)

    if (args.requirements or args.tag) and not args.tools:
        sys.stderr.write("error: --requirements and --tag go with --tools\n")
        return 2
    try:
        if args.tools:
            from deploy.tool_node.custom_image import check_sources

            check_sources(args.tools)  # a bad path fails now, not after the base image is built
        tag = build_image(base_image=args.base_image, progress=progress, force=args.force)
        if args.tools:
            from deploy.tool_node.custom_image import build_tools_image

            tag, added = build_tools_image(args.tools, args.requirements, args.tag, tag, progress, args.force)
            progress(f"your tools: {', '.join(added)}; serve them with `msagent serve tool-manager --image {tag}`")
    except MsagentError as e:
        sys.stderr.write(f"error: {e.message}\n")
        return 1
    print(tag)
    return 0
