"""A component's small durable state: ordered keys with picklable values, in one SQLite file.

The Agent Registry and the Task Center keep theirs here (the Environment has its message log):
``StateStore.open(kind, instance_id)`` is ``<data dir>/state/<kind>-<instance_id>.sqlite3``;
``StateStore.memory()`` keeps nothing on disk. Every ``put``/``delete`` is one commit.
Values are pickled; a Ray actor handle pickles as a reference to its actor.
"""

from __future__ import annotations

import pickle
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from msagent.settings import data_dir


def state_path(kind: str, instance_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", f"{kind}-{instance_id}")
    return data_dir("state") / f"{safe}.sqlite3"


class StateStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value BLOB)")

    @classmethod
    def open(cls, kind: str, instance_id: str | None) -> StateStore:
        return cls(state_path(kind, instance_id)) if instance_id else cls(":memory:")

    @classmethod
    def memory(cls) -> StateStore:
        return cls(":memory:")

    @staticmethod
    def discard(kind: str, instance_id: str | None) -> None:
        if instance_id:
            path = state_path(kind, instance_id)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    @property
    def durable(self) -> bool:
        return self.path != ":memory:"

    def put(self, key: str, value: Any) -> None:
        blob = pickle.dumps(value)
        with self._lock:
            # an update keeps the key's place (rowid): items() stays in first-put order
            self._db.execute(
                "INSERT INTO state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, blob),
            )

    def put_many(self, items: list[tuple[str, Any]]) -> None:
        """Several keys in one commit (thousands of registry entries at once)."""
        rows = [(key, pickle.dumps(value)) for key, value in items]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT INTO state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    rows,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return default if row is None else _load(row[0], default)

    def delete(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM state WHERE key = ?", (key,))

    def items(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM state WHERE substr(key, 1, ?) = ? ORDER BY rowid", (len(prefix), prefix)
            ).fetchall()
        for key, blob in rows:
            yield key, _load(blob, None)

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM state")

    def close(self) -> None:
        self._db.close()


def _load(blob: bytes, default: Any) -> Any:
    try:
        return pickle.loads(blob)
    except Exception:  # e.g. a class that no longer exists: the key reads as missing
        return default
