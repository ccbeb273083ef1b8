"""The durable message log: SQLite in WAL mode, one file per Environment instance.

Every accepted message is written (and committed) with its sequence number before the
Environment acknowledges it; per-role acknowledgements and registered roles are stored too, so a
restarted Environment rebuilds mailboxes and history exactly. ``:memory:`` gives a non-durable log.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY, msg_id TEXT NOT NULL UNIQUE, sender TEXT NOT NULL,
    recipients TEXT, excluded TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS acks (role TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS roles (
    role TEXT PRIMARY KEY, ord INTEGER NOT NULL, watcher INTEGER NOT NULL, enabled INTEGER NOT NULL,
    since_seq INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class LoggedMessage:
    """``recipients`` lists an addressed message's roles; a broadcast stores None and the roles it
    skipped (sender, disabled) in ``excluded``: it reached every role registered by then."""

    seq: int
    msg_id: str
    sender: str
    recipients: tuple[str, ...] | None
    excluded: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class LoggedRole:
    role: str
    watcher: bool
    enabled: bool
    since_seq: int


class MessageLog:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode; writes open an explicit transaction so a batch is one commit
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a process crash (what an actor kill is).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def append(self, rows: Sequence[LoggedMessage], acks: Sequence[tuple[str, int]] = ()) -> None:
        """Persist rows (and acknowledgements) in one transaction; returns only after the commit."""
        if not rows and not acks:
            return
        with self._transaction():
            for role, seq in acks:
                self._ack(role, seq)
            self._db.executemany(
                "INSERT INTO messages(seq, msg_id, sender, recipients, excluded, body) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.seq,
                        r.msg_id,
                        r.sender,
                        None if r.recipients is None else json.dumps(r.recipients),
                        json.dumps(r.excluded),
                        r.body,
                    )
                    for r in rows
                ],
            )

    def ack(self, role: str, seq: int) -> None:
        with self._transaction():
            self._ack(role, seq)

    def _ack(self, role: str, seq: int) -> None:
        self._db.execute(
            "INSERT INTO acks(role, seq) VALUES (?, ?) ON CONFLICT(role) DO UPDATE SET seq = max(seq, excluded.seq)",
            (role, seq),
        )

    def save_role(self, role: str, order: int, watcher: bool, enabled: bool, since_seq: int) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO roles(role, ord, watcher, enabled, since_seq) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(role) DO UPDATE SET watcher = excluded.watcher, enabled = excluded.enabled",
                (role, order, int(watcher), int(enabled), since_seq),
            )

    def delete_role(self, role: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM roles WHERE role = ?", (role,))
            self._db.execute("DELETE FROM acks WHERE role = ?", (role,))

    def clear_messages(self) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM messages")
            self._db.execute("DELETE FROM acks")
            # numbering restarts after a reset, so every role takes mail from the beginning again
            self._db.execute("UPDATE roles SET since_seq = 0")

    def roles(self) -> list[LoggedRole]:
        rows = self._db.execute("SELECT role, watcher, enabled, since_seq FROM roles ORDER BY ord").fetchall()
        return [LoggedRole(role=r, watcher=bool(w), enabled=bool(e), since_seq=s) for r, w, e, s in rows]

    def acks(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT role, seq FROM acks").fetchall())

    def messages(self, after_seq: int = 0) -> Iterator[LoggedMessage]:
        cursor = self._db.execute(
            "SELECT seq, msg_id, sender, recipients, excluded, body FROM messages WHERE seq > ? ORDER BY seq",
            (after_seq,),
        )
        for seq, msg_id, sender, recipients, excluded, body in cursor:
            listed = None if recipients is None else tuple(json.loads(recipients))
            yield LoggedMessage(seq, msg_id, sender, listed, tuple(json.loads(excluded)), body)

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> _Tx:
        return _Tx(self._db)


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
