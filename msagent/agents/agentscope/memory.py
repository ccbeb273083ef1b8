"""AgentScope's ``TemporaryMemory``: the list of ``Msg`` an agent has seen and said.

``add(x)`` takes a ``Msg``, a list of them or None and skips a ``Msg`` already held (same id: a
reply passed as input that the agent also observed in a hub). A distributed agent's reply is added
as its placeholder without waiting; it is resolved when the memory is read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from msagent.agentscope.placeholder import PlaceholderMsg
from msagent.errors import ConfigError
from msagent.message import Msg, iter_msgs


class TemporaryMemory:
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})
        self._items: list[Msg] = []
        self._ids: set[str] = set()
        self._lock = threading.RLock()

    def add(self, memories: Any) -> None:
        with self._lock:
            for msg in iter_msgs(memories):
                if isinstance(msg, PlaceholderMsg) and not msg.is_resolved():
                    self._items.append(msg)  # its id is known once resolved: see _settle
                elif msg["id"] not in self._ids:
                    self._ids.add(msg["id"])
                    self._items.append(msg)

    def _settle(self) -> list[Msg]:
        """Resolve placeholders (in order) and drop the duplicates they turn out to be."""
        with self._lock:
            if not any(isinstance(m, PlaceholderMsg) for m in self._items):
                return list(self._items)
            items: list[Msg] = []
            seen: set[str] = set()
            for i, msg in enumerate(self._items):
                try:
                    plain = msg.resolved() if isinstance(msg, PlaceholderMsg) else msg
                except Exception:
                    # a reply that failed: its error is raised here once, then it is forgotten
                    # (as a distributed agent's failed observe is raised by its next call once)
                    del self._items[i]
                    raise
                if plain["id"] not in seen:
                    seen.add(plain["id"])
                    items.append(plain)
            self._items, self._ids = items, seen
            return list(items)

    def get_memory(
        self, recent_n: int | None = None, filter_func: Callable[[int, Msg], bool] | None = None
    ) -> list[Msg]:
        items = self._settle()
        if filter_func is not None:
            items = [m for i, m in enumerate(items) if filter_func(i, m)]
        if recent_n is not None:
            if recent_n < 0:
                raise ConfigError("recent_n must be >= 0", field="recent_n")
            items = items[-recent_n:] if recent_n else []
        return items

    def size(self) -> int:
        return len(self._settle())

    def delete(self, index: int | list[int]) -> None:
        indexes = [index] if isinstance(index, int) else list(index)
        with self._lock:
            items = self._settle()
            bad = [i for i in indexes if not -len(items) <= i < len(items)]
            if bad:
                raise ConfigError(f"memory has {len(items)} messages; no index {bad}", field="index")
            drop = {i % len(items) for i in indexes}
            self._items = [m for i, m in enumerate(items) if i not in drop]
            self._ids = {m["id"] for m in self._items}

    def clear(self) -> None:
        with self._lock:
            self._items, self._ids = [], set()

    def export(self, file_path: str | Path | None = None, to_mem: bool = False) -> list[Msg] | None:
        """The messages (``to_mem=True``), or written to ``file_path`` as a JSON list."""
        items = self._settle()
        if to_mem or file_path is None:
            return items
        Path(file_path).write_text(json.dumps([dict(m.items()) for m in items], ensure_ascii=False), encoding="utf-8")
        return None

    def load(self, memories: str | Path | list[Any], overwrite: bool = False) -> None:
        """Messages from a JSON file written by ``export`` or a list; ``overwrite`` replaces."""
        if isinstance(memories, (str, Path)):
            try:
                memories = json.loads(Path(memories).read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise ConfigError(f"cannot load memory from {str(memories)!r}: {e}") from None
        with self._lock:
            if overwrite:
                self.clear()
            self.add(list(memories))  # type: ignore[arg-type]
