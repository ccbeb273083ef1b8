"""A scenario run's identity, its record on disk, and its transcript written as it happens.

A run of a scenario file is named after the file (``<scenario name>-<hash of its path>``), so a
second ``msagent run`` of the same file finds the first one: ``<data dir>/runs/<run id>.json`` says
whether it finished. The Task Center, Environment and Registry of the run keep their state under
that id, which is what ``--resume`` reopens.

``TranscriptWriter`` appends each new message of the Environment's log to a JSON-lines file
(flushed and fsynced per batch), so a killed run keeps what was said; on resume it goes on after
the last message the file holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from msagent.runtime.calls import call
from msagent.settings import data_dir


def run_id_for(name: str, source: str) -> str:
    digest = hashlib.sha1(source.encode("utf-8")).hexdigest()[:10]
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:40]}-{digest}"


@dataclass
class RunRecord:
    run_id: str
    scenario: str
    transcript: str
    started_at: float
    status: str = "running"  # running | finished
    finished_at: float | None = None

    @classmethod
    def path_for(cls, run_id: str) -> Path:
        return data_dir("runs") / f"{run_id}.json"

    @classmethod
    def load(cls, run_id: str) -> RunRecord | None:
        try:
            data = json.loads(cls.path_for(run_id).read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None

    def save(self) -> None:
        path = self.path_for(self.run_id)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(tmp, path)

    def finish(self) -> None:
        self.status, self.finished_at = "finished", time.time()
        self.save()

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.started_at))
        return f"run {self.run_id!r} of {self.scenario} (started {when}, transcript {self.transcript})"


def transcript_row(seq: int, message: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "id": message.id,
        "from": message.sent_from or message.role,
        "send_to": message.send_to,
        "content": message.content,
    }


class TranscriptWriter:
    """Appends the Environment's new messages to ``path``; ``fresh=False`` continues a file."""

    def __init__(self, path: Path, env: Any, fresh: bool) -> None:
        self.path = path
        self.env = env
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict[str, Any]] = []
        if fresh or not path.exists():
            path.write_text("", encoding="utf-8")
        else:
            self.rows, whole = _read_rows(path)
            if not whole:  # a line cut by the kill: keep the whole ones (the log has the rest)
                path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.rows), encoding="utf-8")
        self.last_seq = max((int(r.get("seq", 0)) for r in self.rows), default=0)
        self._last_poll = 0.0

    def poll(self, min_interval_s: float = 0.5) -> None:
        """Write what is new, at most every ``min_interval_s`` (called per frame)."""
        now = time.monotonic()
        if now - self._last_poll >= min_interval_s:
            self._last_poll = now
            self.flush()

    def flush(self) -> None:
        while True:
            batch = call(self.env, "read_log", self.last_seq, 1000)
            if not batch:
                return
            rows = [transcript_row(d.seq, d.message) for d in batch]
            with self.path.open("a", encoding="utf-8") as f:
                f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
                f.flush()
                os.fsync(f.fileno())
            self.rows += rows
            self.last_seq = rows[-1]["seq"]


def _read_rows(path: Path) -> tuple[list[dict[str, Any]], bool]:
    rows: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            return rows, False
    return rows, True
