"""The standard MCP config, ``{'mcpServers': {name: {...}}}``, as Qwen-Agent and MCP clients write it.

A server is a command (stdio: ``command``, ``args``, ``env``, ``cwd``) or a URL (streamable HTTP:
``url``, ``headers``). ``timeout`` bounds one tool call, ``connect_timeout`` the start; ``disabled``
servers are skipped; ``node`` holds the tool node's settings when the server runs in one
(``use_tool_api=True``: ``network``, ``memory``, ``cpus``, ``pids_limit``). Anything else is refused with the server's name, so a typo never goes unnoticed.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from msagent.errors import ConfigError

MCP_KEY = "mcpServers"
SERVER_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,48}$")
HTTP_TYPES = ("streamable-http", "streamable_http", "streamableHttp", "http")


class MCPServerConfig(BaseModel):
    """One server of an ``mcpServers`` mapping."""

    model_config = ConfigDict(extra="forbid")

    command: str | None = Field(default=None, min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] | None = None
    cwd: str | None = None
    url: str | None = Field(default=None, pattern=r"^https?://")
    headers: dict[str, str] = Field(default_factory=dict)
    type: Literal["stdio", "streamable-http", "streamable_http", "streamableHttp", "http"] | None = None
    timeout: float = Field(default=120.0, gt=0)
    connect_timeout: float = Field(default=30.0, gt=0)
    disabled: bool = False
    # with use_tool_api: the tool node's settings (network, memory, cpus, pids_limit), as a tool's tool_cfg
    node: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_transport(self) -> MCPServerConfig:
        if self.command is None and self.url is None:
            raise ValueError("give 'command' (a stdio server, e.g. {'command': 'python', 'args': ['server.py']}) "
                             "or 'url' (a streamable HTTP server, e.g. {'url': 'http://127.0.0.1:8000/mcp'})")
        if self.command is not None and self.url is not None:
            raise ValueError("give either 'command' (stdio) or 'url' (streamable HTTP), not both")
        if self.type == "stdio" and self.command is None:
            raise ValueError("type 'stdio' needs a 'command'")
        if self.type in HTTP_TYPES and self.url is None:
            raise ValueError(f"type {self.type!r} needs a 'url'")
        if self.url is None and self.headers:
            raise ValueError("'headers' apply to a 'url' server only")
        if self.command is None and (self.args or self.env or self.cwd or self.node):
            raise ValueError("'args', 'env', 'cwd' and 'node' apply to a 'command' server only")
        return self

    @property
    def transport(self) -> Literal["stdio", "streamable-http"]:
        return "stdio" if self.command is not None else "streamable-http"

    def describe(self) -> str:
        return " ".join([self.command or "", *self.args]).strip() if self.command else str(self.url)


def is_mcp_config(item: Any) -> bool:
    return isinstance(item, dict) and MCP_KEY in item


def parse_mcp_config(item: Any) -> dict[str, MCPServerConfig]:
    """``{'mcpServers': {...}}`` -> {server name: config} (disabled servers left out), or ``ConfigError``."""
    if not is_mcp_config(item):
        raise ConfigError(f"an MCP config is {{'{MCP_KEY}': {{name: {{...}}}}}}, got {_clip(item)}", field=MCP_KEY)
    extra = sorted(set(item) - {MCP_KEY})
    if extra:
        raise ConfigError(f"an MCP config holds only '{MCP_KEY}'; unknown keys: {', '.join(extra)}", field=MCP_KEY)
    servers = item[MCP_KEY]
    if not isinstance(servers, dict) or not servers:
        raise ConfigError(f"'{MCP_KEY}' must map server names to their configs, got {_clip(servers)}",
                          field=MCP_KEY)
    out: dict[str, MCPServerConfig] = {}
    for name, raw in servers.items():
        if not isinstance(name, str) or not SERVER_NAME.match(name):
            raise ConfigError(f"MCP server name {name!r} is invalid: use 1-48 letters, digits, '_', '-' or '.'",
                              field=f"{MCP_KEY}.{name}")
        if not isinstance(raw, dict):
            raise ConfigError(f"MCP server '{name}': its config must be an object, got {_clip(raw)}",
                              field=f"{MCP_KEY}.{name}")
        try:
            config = MCPServerConfig.model_validate(raw)
        except ValidationError as e:
            problems = "; ".join(_problem(err) for err in e.errors())
            raise ConfigError(f"MCP server '{name}': {problems}", field=f"{MCP_KEY}.{name}") from None
        if not config.disabled:
            out[name] = config
    return out


def _problem(err: Any) -> str:
    where = ".".join(str(p) for p in err.get("loc", ()))
    if err.get("type") == "extra_forbidden":
        return (f"unknown key '{where}' (known: command, args, env, cwd, url, headers, type, timeout, "
                "connect_timeout, disabled, node)")
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    return f"'{where}': {msg}" if where else msg


def _clip(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
