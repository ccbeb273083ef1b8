"""An embedded full-text index: SQLite FTS5 with the trigram tokenizer, ranked by BM25.

Trigrams match inside words, so Chinese text (no spaces) and partial words are found too. A query
becomes an OR of its terms: latin words of 3+ characters, and the 3-character windows of CJK runs.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

from pydantic import BaseModel

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    uuid TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL, passages INTEGER NOT NULL,
    added REAL NOT NULL, PRIMARY KEY (uuid, name)
);
CREATE VIRTUAL TABLE IF NOT EXISTS passages USING fts5(
    uuid UNINDEXED, name UNINDEXED, seq UNINDEXED, text, tokenize = 'trigram'
);
"""
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class Passage(BaseModel):
    name: str
    seq: int
    text: str
    score: float


def query_terms(query: str) -> list[str]:
    terms: list[str] = []
    for run in _CJK.findall(query):
        terms += [run] if len(run) <= 3 else [run[i : i + 3] for i in range(len(run) - 2)]
    for word in _WORD.findall(_CJK.sub(" ", query)):
        if len(word) >= 3:
            terms.append(word.lower())
    return list(dict.fromkeys(terms))


class KnowledgeIndex:
    """One SQLite file; a connection per call, so threads and processes can share it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def add(self, uuid: str, name: str, size: int, texts: list[str], added: float) -> None:
        with self._lock, closing(self._connect()) as db, db:
            db.execute("DELETE FROM passages WHERE uuid = ? AND name = ?", (uuid, name))
            db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", (uuid, name, size, len(texts), added))
            db.executemany(
                "INSERT INTO passages (uuid, name, seq, text) VALUES (?, ?, ?, ?)",
                [(uuid, name, i, t) for i, t in enumerate(texts)],
            )

    def remove(self, uuid: str, name: str | None = None) -> int:
        with self._lock, closing(self._connect()) as db, db:
            if name is None:
                db.execute("DELETE FROM passages WHERE uuid = ?", (uuid,))
                return db.execute("DELETE FROM files WHERE uuid = ?", (uuid,)).rowcount
            db.execute("DELETE FROM passages WHERE uuid = ? AND name = ?", (uuid, name))
            return db.execute("DELETE FROM files WHERE uuid = ? AND name = ?", (uuid, name)).rowcount

    def files(self, uuid: str) -> list[dict]:
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT name, size, passages, added FROM files WHERE uuid = ? ORDER BY name", (uuid,)
            ).fetchall()
        return [{"name": n, "size": s, "passages": p, "added": a} for n, s, p, a in rows]

    def search(self, uuid: str, query: str, *, files: list[str] | None = None, limit: int = 20) -> list[Passage]:
        terms = query_terms(query)
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        sql = "SELECT name, seq, text, bm25(passages) AS rank FROM passages WHERE passages MATCH ? AND uuid = ?"
        args: list = [match, uuid]
        if files:
            sql += f" AND name IN ({', '.join('?' * len(files))})"
            args += files
        sql += " ORDER BY rank LIMIT ?"
        args.append(limit)
        with closing(self._connect()) as db:
            rows = db.execute(sql, args).fetchall()
        # bm25() is lower-is-better (negative); report higher-is-better
        return [Passage(name=n, seq=int(s), text=t, score=-float(r)) for n, s, t, r in rows]
