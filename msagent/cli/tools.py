"""``msagent tools mcp-list <config.json>``: what the servers of an MCP config offer, before a run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("tools", help="inspect tools (MCP servers)", description="Inspect tools.")
    sub = p.add_subparsers(dest="tools_command", metavar="SUBCOMMAND", required=True)
    ls = sub.add_parser(
        "mcp-list",
        help="start the servers of an MCP config and print their tools (names, schemas)",
        description="Start every server of a {'mcpServers': {...}} JSON file, list the tools an agent would "
        "get (named <server>-<tool>) with their input schemas, and stop the servers.",
    )
    ls.add_argument("config", help="a JSON file holding {\"mcpServers\": {name: {command|url, ...}}}")
    ls.add_argument("--json", action="store_true", help="print one JSON object {server: [tool specs]}")
    ls.set_defaults(handler=mcp_list)


def mcp_list(args: argparse.Namespace) -> int:
    from msagent.errors import MsagentError
    from msagent.tools.mcp import MCPToolset

    try:
        config = _read(Path(args.config))
        toolset = MCPToolset(config)
    except MsagentError as e:
        sys.stderr.write(f"error: {e.message}\n")
        return 1
    try:
        by_server: dict[str, list[dict[str, Any]]] = {name: [] for name in toolset.servers}
        for tool in toolset.tools:
            by_server[tool.server].append(tool.spec.model_dump())
    finally:
        toolset.close()
    if args.json:
        print(json.dumps(by_server, indent=2, ensure_ascii=False))
        return 0
    for name, specs in by_server.items():
        cfg = toolset.servers[name]
        print(f"{name}  ({cfg.transport}: {cfg.describe()})  {len(specs)} tool(s)")
        for spec in specs:
            print(f"  {spec['name']}: {spec['description'] or '(no description)'}")
            print(f"    {json.dumps(spec['parameters'], ensure_ascii=False)}")
    return 0


def _read(path: Path) -> Any:
    from msagent.errors import ConfigError

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise ConfigError(f"{path} is not valid JSON ({e})") from None
