"""Tool manager settings (constructor arguments, CLI flags or environment)."""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from deploy.tool_node.image import LATEST

DEFAULT_PORT = 31511
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class ManagerConfig(BaseModel):
    manager_id: str = Field(default="default", pattern=NAME_PATTERN, description="labels this manager's containers")
    default_image: str = LATEST
    port_start: int = Field(default=31513, ge=1024, le=65535)
    port_end: int = Field(default=32512, ge=1024, le=65535)
    pool_size: int = Field(default=1, ge=0, le=16, description="started nodes kept ready for fast creates")
    idle_minutes: float = Field(default=30.0, gt=0, description="the monitor stops nodes idle this long")
    monitor_seconds: float = Field(default=30.0, gt=0, description="how often the monitor looks")
    start_timeout: float = Field(default=60.0, gt=0)
    token: str | None = Field(default=None, repr=False, description="the bearer token clients must send")
    no_auth: bool = Field(default=False, description="run without a token (only ever on a loopback address)")
    db_path: str | None = Field(default=None, description="SQLite file (default: <data dir>/tool_manager/<manager_id>.db)")
    backend: str = Field(default="ray", pattern="^(ray|local)$", description="ray: nodes are actors; local: in-process")
    xagent: dict[str, object] = Field(default_factory=dict, description=(
        "XAgent sessions (over $TOOL_MANAGER_XAGENT): idling_close_minutes (30), call_wait (s before a 450, 30), "
        "tool_cfg of a session's node"))

    @classmethod
    def from_env(cls, **overrides: object) -> ManagerConfig:
        values: dict[str, object] = {}
        if os.environ.get("TOOL_MANAGER_TOKEN"):
            values["token"] = os.environ["TOOL_MANAGER_TOKEN"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
