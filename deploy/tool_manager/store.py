"""SQLite records of tool nodes and their port allocations (``data_dir("tool_manager")/<manager_id>.db``).

A restarted manager reads its nodes back from here, and a port stays allocated until its node is
removed, so no port is handed out twice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from msagent.settings import data_dir

STATUSES = ("pending", "running", "exited", "failed")


class NodeRecord(BaseModel):
    tenant_id: str
    tool_name: str
    name: str
    image: str
    tool_cfg: dict[str, Any] = Field(default_factory=dict)
    status: str = "pending"
    port: int | None = None
    container_id: str | None = None
    url: str | None = None
    message: str = ""
    created_at: float = Field(default_factory=time.time)
    last_used: float = Field(default_factory=time.time)
    tools: list[str] | None = None  # what the node serves: default [tool_name]; ["*"]: all (a session)
    secret: str = Field(default="", repr=False)  # the node's secret, sent with every call to it
    idle_minutes: float | None = None  # the monitor's idle limit for this node (default: the manager's)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    tenant_id TEXT NOT NULL, tool_name TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (tenant_id, tool_name));
CREATE TABLE IF NOT EXISTS ports (port INTEGER PRIMARY KEY, owner TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    cookie_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, node_key TEXT NOT NULL);
"""


class NodeStore:
    """Node records keyed by (tenant, tool) and port owners; safe to share between threads."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else data_dir("tool_manager") / "tool_manager.db"
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    # --- nodes -----------------------------------------------------------------------------------
    def put(self, rec: NodeRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO nodes VALUES (?, ?, ?)", (rec.tenant_id, rec.tool_name, rec.model_dump_json())
            )

    def get(self, tenant_id: str, tool_name: str) -> NodeRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM nodes WHERE tenant_id=? AND tool_name=?", (tenant_id, tool_name)
            ).fetchone()
        return NodeRecord.model_validate_json(row[0]) if row else None

    def delete(self, tenant_id: str, tool_name: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM nodes WHERE tenant_id=? AND tool_name=?", (tenant_id, tool_name))

    def all(self, tenant_id: str | None = None) -> list[NodeRecord]:
        with self._lock:
            if tenant_id is None:
                rows = self._db.execute("SELECT data FROM nodes").fetchall()
            else:
                rows = self._db.execute("SELECT data FROM nodes WHERE tenant_id=?", (tenant_id,)).fetchall()
        return [NodeRecord.model_validate_json(r[0]) for r in rows]

    # --- ports -----------------------------------------------------------------------------------
    def allocate_port(self, owner: str, start: int, end: int, is_free: Any = None) -> int | None:
        """The lowest port in [start, end] that no record owns (and ``is_free(port)`` accepts)."""
        with self._lock:
            taken = {r[0] for r in self._db.execute("SELECT port FROM ports WHERE port BETWEEN ? AND ?", (start, end))}
            for port in range(start, end + 1):
                if port in taken or (is_free is not None and not is_free(port)):
                    continue
                self._db.execute("INSERT INTO ports VALUES (?, ?)", (port, owner))
                return port
        return None

    def release_port(self, port: int | None) -> None:
        if port is None:
            return
        with self._lock:
            self._db.execute("DELETE FROM ports WHERE port=?", (port,))

    def set_port_owner(self, port: int, owner: str) -> None:
        with self._lock:
            self._db.execute("UPDATE ports SET owner=? WHERE port=?", (owner, port))

    def port_owners(self) -> dict[int, str]:
        with self._lock:
            return {int(p): o for p, o in self._db.execute("SELECT port, owner FROM ports")}


    # --- XAgent sessions: the hash of a session cookie -> its node (tenant, record key) ---------
    def put_session(self, cookie_hash: str, tenant_id: str, node_key: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)", (cookie_hash, tenant_id, node_key))

    def get_session(self, cookie_hash: str) -> tuple[str, str] | None:
        with self._lock:
            row = self._db.execute("SELECT tenant_id, node_key FROM sessions WHERE cookie_hash=?",
                                   (cookie_hash,)).fetchone()
        return (row[0], row[1]) if row else None

    def delete_session(self, cookie_hash: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE cookie_hash=?", (cookie_hash,))


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
