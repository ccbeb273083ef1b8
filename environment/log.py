"""The durable message log: SQLite in WAL mode, one file per Environment instance.

Every accepted message is written (and committed) with its sequence number before the
Environment answers; per-role acknowledgements, registered roles and answered pulls are stored
too, so a restarted Environment rebuilds mailboxes exactly. ``:memory:`` gives a non-durable log.

Restart cost follows the unacknowledged mail, not the log's length: a message stays ``open``
until every mailbox it reached has acknowledged it, and a restart reads only open messages (a
partial index) plus the newest few for the history. Closed messages stay in the file: message
ids (idempotent publishes), ``history`` and conversations are read from it on demand.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
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
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pulls (request_id TEXT PRIMARY KEY, role TEXT NOT NULL, seqs TEXT NOT NULL);
"""
# columns added after the first release: (table, column, declaration); old files get them on open
_ADDED_COLUMNS = (
    ("messages", "open", "INTEGER NOT NULL DEFAULT 1"),
    ("messages", "ack_seq", "INTEGER"),
    ("roles", "removed", "INTEGER NOT NULL DEFAULT 0"),
)
# Only what a restart and a history rebuild need: open messages, and agents' turns (replies with
# their acknowledgement, ``ack_seq`` 0 when they answered no mail); every index costs each insert.
_INDEXES = """
CREATE INDEX IF NOT EXISTS open_messages ON messages(seq) WHERE open = 1;
DROP INDEX IF EXISTS messages_by_sender;
CREATE INDEX IF NOT EXISTS turns_by_sender ON messages(sender, seq) WHERE ack_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS pulls_by_role ON pulls(role);
"""
_COLUMNS = "seq, msg_id, sender, recipients, excluded, body, ack_seq"
PULLS_KEPT_PER_ROLE = 64


class DuplicateIdError(Exception):
    """An appended message id is in the log already (the caller looks the ids up and retries)."""


@dataclass(frozen=True)
class LoggedMessage:
    """``recipients`` lists an addressed message's roles; a broadcast stores None and the roles it
    skipped (sender, disabled) in ``excluded``: it reached every role registered by then.
    ``ack_seq`` is what the sender acknowledged with this message when it is an agent's reply (0:
    a reply to no mail); None for anything else."""

    seq: int
    msg_id: str
    sender: str
    recipients: tuple[str, ...] | None
    excluded: tuple[str, ...]
    body: str
    ack_seq: int | None = None


@dataclass(frozen=True)
class LoggedRole:
    role: str
    watcher: bool
    enabled: bool
    since_seq: int
    removed: bool = False


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
        for table, column, decl in _ADDED_COLUMNS:
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        self._db.executescript(_INDEXES)

    # --- writes -------------------------------------------------------------------------------------
    def append(
        self,
        rows: Sequence[LoggedMessage],
        acks: Sequence[tuple[str, int]] = (),
        closed: Iterable[int] = (),
        open_flags: Sequence[bool] | None = None,
        pull: tuple[str, str, Sequence[int]] | None = None,
    ) -> None:
        """Persist rows, acknowledgements, messages no mailbox holds any more (``closed``) and an
        answered pull ``(request_id, role, seqs)`` in one transaction; returns after the commit."""
        closed = list(closed)
        if not rows and not acks and not closed and pull is None:
            return
        flags = open_flags if open_flags is not None else [True] * len(rows)
        try:
            self._append(rows, acks, closed, flags, pull)
        except sqlite3.IntegrityError as e:
            if "msg_id" in str(e):
                raise DuplicateIdError(str(e)) from None
            raise

    def _append(
        self,
        rows: Sequence[LoggedMessage],
        acks: Sequence[tuple[str, int]],
        closed: list[int],
        flags: Sequence[bool],
        pull: tuple[str, str, Sequence[int]] | None,
    ) -> None:
        with self._transaction():
            for role, seq in acks:
                if seq > 0:  # 0 only marks a reply to no mail as a turn (see ack_seq)
                    self._ack(role, seq)
            self._db.executemany(
                "INSERT INTO messages(seq, msg_id, sender, recipients, excluded, body, ack_seq, open) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.seq, r.msg_id, r.sender,
                        None if r.recipients is None else json.dumps(r.recipients),
                        json.dumps(r.excluded), r.body, r.ack_seq, int(flag),
                    )
                    for r, flag in zip(rows, flags, strict=True)
                ],
            )  # fmt: skip
            if closed:
                self._db.executemany("UPDATE messages SET open = 0 WHERE seq = ?", [(s,) for s in closed])
            if pull is not None:
                request_id, role, seqs = pull
                self._db.execute(
                    "INSERT OR REPLACE INTO pulls(request_id, role, seqs) VALUES (?, ?, ?)",
                    (request_id, role, json.dumps(list(seqs))),
                )
                self._db.execute(
                    "DELETE FROM pulls WHERE role = ? AND rowid NOT IN "
                    "(SELECT rowid FROM pulls WHERE role = ? ORDER BY rowid DESC LIMIT ?)",
                    (role, role, PULLS_KEPT_PER_ROLE),
                )

    def _ack(self, role: str, seq: int) -> None:
        self._db.execute(
            "INSERT INTO acks(role, seq) VALUES (?, ?) ON CONFLICT(role) DO UPDATE SET seq = max(seq, excluded.seq)",
            (role, seq),
        )

    def save_role(self, role: str, order: int, watcher: bool, enabled: bool, since_seq: int) -> None:
        self.save_roles([(role, order, watcher, enabled, since_seq)])

    def save_roles(self, roles: Sequence[tuple[str, int, bool, bool, int]]) -> None:
        """``(role, order, watcher, enabled, since_seq)`` rows in one commit."""
        if not roles:
            return
        with self._transaction():
            self._db.executemany(
                "INSERT INTO roles(role, ord, watcher, enabled, since_seq, removed) VALUES (?, ?, ?, ?, ?, 0) "
                "ON CONFLICT(role) DO UPDATE SET watcher = excluded.watcher, enabled = excluded.enabled, "
                "since_seq = CASE WHEN roles.removed THEN excluded.since_seq ELSE roles.since_seq END, removed = 0",
                [(role, order, int(watcher), int(enabled), since) for role, order, watcher, enabled, since in roles],
            )

    def remove_role(self, role: str, closed: Iterable[int] = ()) -> None:
        """Keep a tombstone (a retried unregister is a no-op), drop its acks, close what only it held."""
        with self._transaction():
            self._db.execute("UPDATE roles SET removed = 1 WHERE role = ?", (role,))
            self._db.execute("DELETE FROM acks WHERE role = ?", (role,))
            self._db.executemany("UPDATE messages SET open = 0 WHERE seq = ?", [(s,) for s in closed])

    def clear_messages(self, next_seq: int, reset_id: str | None) -> None:
        """Forget every message; numbering goes on from ``next_seq`` (a late ack of an old number
        must not acknowledge new mail), and every role takes mail from there."""
        with self._transaction():
            self._db.execute("DELETE FROM messages")
            self._db.execute("DELETE FROM acks")
            self._db.execute("DELETE FROM pulls")
            self._db.execute("UPDATE roles SET since_seq = ?", (next_seq,))
            self._set_meta("next_seq", str(next_seq))
            if reset_id:
                self._set_meta("reset_id", reset_id)

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # --- reads --------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def next_seq(self) -> int:
        top = self._db.execute("SELECT max(seq) FROM messages").fetchone()[0] or 0
        return max(top + 1, int(self.meta("next_seq") or 1))

    def roles(self) -> list[LoggedRole]:
        rows = self._db.execute("SELECT role, watcher, enabled, since_seq, removed FROM roles ORDER BY ord").fetchall()
        return [LoggedRole(r, bool(w), bool(e), s, bool(x)) for r, w, e, s, x in rows]

    def acks(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT role, seq FROM acks").fetchall())

    def open_messages(self) -> Iterator[LoggedMessage]:
        return self._rows(f"SELECT {_COLUMNS} FROM messages WHERE open = 1 ORDER BY seq")

    def newest(self, limit: int) -> list[LoggedMessage]:
        rows = list(self._rows(f"SELECT {_COLUMNS} FROM messages ORDER BY seq DESC LIMIT ?", (limit,)))
        return rows[::-1]

    def messages(self, after_seq: int = 0, until_seq: int | None = None, limit: int = -1) -> Iterator[LoggedMessage]:
        until = (1 << 62) if until_seq is None else until_seq
        return self._rows(
            f"SELECT {_COLUMNS} FROM messages WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?", (after_seq, until, limit)
        )

    def senders_with_turns(self, senders: Sequence[str]) -> set[str]:
        """Which of ``senders`` have published a turn (one indexed lookup per 500 senders)."""
        found: set[str] = set()
        for start in range(0, len(senders), 500):
            chunk = list(senders[start : start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self._db.execute(
                    f"SELECT DISTINCT sender FROM messages WHERE ack_seq IS NOT NULL AND sender IN ({marks})", chunk
                )
            )
        return found

    def turns_of(self, sender: str) -> Iterator[LoggedMessage]:
        """The sender's replies as an agent (rows with an ``ack_seq``), oldest first."""
        return self._rows(
            f"SELECT {_COLUMNS} FROM messages WHERE sender = ? AND ack_seq IS NOT NULL ORDER BY seq", (sender,)
        )

    def by_seqs(self, seqs: Sequence[int]) -> list[LoggedMessage]:
        out: list[LoggedMessage] = []
        for start in range(0, len(seqs), 500):
            chunk = list(seqs[start : start + 500])
            marks = ",".join("?" * len(chunk))
            out += self._rows(f"SELECT {_COLUMNS} FROM messages WHERE seq IN ({marks}) ORDER BY seq", chunk)
        return out

    def seqs_of_ids(self, msg_ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(msg_ids), 500):
            chunk = list(msg_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            found.update(self._db.execute(f"SELECT msg_id, seq FROM messages WHERE msg_id IN ({marks})", chunk))
        return found

    def pull(self, request_id: str) -> tuple[str, list[int]] | None:
        row = self._db.execute("SELECT role, seqs FROM pulls WHERE request_id = ?", (request_id,)).fetchone()
        return None if row is None else (str(row[0]), [int(s) for s in json.loads(row[1])])

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM messages").fetchone()[0])

    def _rows(self, sql: str, args: Sequence[object] = ()) -> Iterator[LoggedMessage]:
        for seq, msg_id, sender, recipients, excluded, body, ack_seq in self._db.execute(sql, args):
            listed = None if recipients is None else tuple(json.loads(recipients))
            yield LoggedMessage(seq, msg_id, sender, listed, tuple(json.loads(excluded)), body, ack_seq)

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> _Tx:
        return _Tx(self._db)


def discard(path: str | Path) -> None:
    """Delete a log file and its WAL companions (a component created anew starts empty)."""
    if str(path) == ":memory:":
        return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
