"""XAgent sessions over the one ``ToolManager``: a session is a tenant-scoped node serving every
tool of the image (``tools=["*"]``), reached by a random cookie (``node_id``, as XAgent's
ToolServer names it). Only the cookie's SHA-256 is stored (``sessions`` table), so the records
survive a manager restart with the nodes they point to.

A session's node is removed when the session is closed or released, or by the monitor once idle
for ``idling_close_minutes`` (default 30, as XAgent's ToolServerMonitor).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from typing import Any, NamedTuple

from pydantic import BaseModel, Field, ValidationError

from deploy.tool_manager.errors import ManagerError
from deploy.tool_manager.manager import ToolManager
from deploy.tool_manager.store import NodeRecord
from msagent.errors import ConfigError

COOKIE = "node_id"
CONFIG_ENV = "TOOL_MANAGER_XAGENT"  # JSON: XAgentConfig fields
KEY_PREFIX = "xagent-"
FIX = "POST /get_cookie first and send its 'node_id' cookie with every call"


class XAgentConfig(BaseModel):
    idling_close_minutes: float = Field(default=30.0, gt=0, description="a session idle this long is closed")
    call_wait: float = Field(default=30.0, gt=0, le=3600, description=(
        "/execute_tool answers 450 (fetch the rest with read_call_result) when a call runs longer"))
    tool_cfg: dict[str, Any] = Field(default_factory=lambda: {"timeout": 3600}, description=(
        "the session node's tool_cfg: container limits (network off unless asked) and the tools' settings"))

    @classmethod
    def from_env(cls, **overrides: Any) -> XAgentConfig:
        """``$TOOL_MANAGER_XAGENT`` (JSON) with ``overrides`` (the manager config's ``xagent``) on top."""
        text = os.environ.get(CONFIG_ENV)
        try:
            return cls.model_validate({**(json.loads(text) if text else {}), **overrides})
        except (ValueError, ValidationError) as e:
            raise ConfigError(f"bad XAgent session settings (${CONFIG_ENV} or config 'xagent'): {e}") from None


class Session(NamedTuple):
    tenant_id: str
    key: str  # the node's record key (its "tool name" in the manager)


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class XAgentSessions:
    def __init__(self, manager: ToolManager, config: XAgentConfig | None = None) -> None:
        self.manager = manager
        self.config = config or XAgentConfig.from_env(**manager.config.xagent)

    async def open(self, tenant_id: str, tool_cfg: dict[str, Any] | None = None) -> tuple[str, NodeRecord]:
        """A new session and its node (from the warm pool when the settings allow); (cookie, record)."""
        cookie = secrets.token_hex(16)
        key = KEY_PREFIX + secrets.token_hex(6)
        cfg = {**self.config.tool_cfg, **(tool_cfg or {})}
        rec = await self.manager.create(tenant_id, key, cfg, None, tools=["*"],
                                        idle_minutes=self.config.idling_close_minutes)
        self.manager.store.put_session(_hash(cookie), tenant_id, key)
        return cookie, rec

    def find(self, cookie: str | None) -> Session:
        if not cookie:
            raise ManagerError(401, f"no session cookie; {FIX}")
        found = self.manager.store.get_session(_hash(cookie))
        if found is None:
            raise ManagerError(401, f"unknown or closed session; {FIX}")
        session = Session(*found)
        rec = self.manager.store.get(session.tenant_id, session.key)
        if rec is None or rec.status in ("exited", "failed"):
            self.manager.store.delete_session(_hash(cookie))
            why = rec.message if rec is not None and rec.message else "its node is gone"
            if rec is not None:
                self.manager.store.delete(rec.tenant_id, rec.tool_name)
            raise ManagerError(401, f"the session is closed ({why}); {FIX}")
        return session

    async def running(self, cookie: str | None) -> Session:
        """The session, its node running (waits while it starts); 503 when it cannot run."""
        session = self.find(cookie)
        await self.ready(session)
        return session

    async def ready(self, session: Session) -> None:
        rec = self.manager.store.get(session.tenant_id, session.key)
        if rec is not None and rec.status == "running":  # the common case: no look at the container
            return
        rec = await self.manager.status(session.tenant_id, session.key, wait=self.manager.config.start_timeout)
        if rec.status != "running":
            raise ManagerError(503, f"the session's node is {rec.status}{': ' + rec.message if rec.message else ''}; "
                                    "POST /get_cookie for a new session")

    async def close(self, cookie: str | None) -> NodeRecord:
        session = self.find(cookie)
        self.manager.store.delete_session(_hash(cookie or ""))
        return await self.manager.remove(session.tenant_id, session.key)
