"""``Memory``: one agent's history of messages, trimmed to a token budget when prompts are built.

Trimming keeps the newest whole turns (a turn starts at a user message), so an assistant message
with ``tool_calls`` always stays with the tool results that answer it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from msagent.errors import ConfigError
from msagent.schemas import Message
from msagent.settings import data_dir

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def estimate_tokens(message: Message) -> int:
    """A cheap approximation (about 4 characters per token), the same for every back-end."""
    chars = len(message.content) + len(message.role)
    for call in message.tool_calls or []:
        chars += len(call.function.name) + len(call.function.arguments)
    return chars // 4 + 4  # + a few tokens of per-message framing


def _turns(messages: list[Message]) -> list[list[Message]]:
    turns: list[list[Message]] = []
    for m in messages:
        if m.role == "user" or not turns:
            turns.append([m])
        else:
            turns[-1].append(m)
    return turns


class Memory:
    """``Memory(path=None, name=None)``: ``path`` is the JSON file; with only ``name`` it is
    ``data_dir('memory')/<name>.json``. Nothing is written until ``save()``."""

    def __init__(self, path: str | Path | None = None, name: str | None = None) -> None:
        if path is None and name:
            path = data_dir("memory") / f"{_SAFE_NAME.sub('_', name)}.json"
        self.path = Path(path) if path is not None else None
        self._messages: list[Message] = []
        self._lock = threading.Lock()

    @property
    def messages(self) -> list[Message]:
        with self._lock:
            return list(self._messages)

    def __len__(self) -> int:
        return len(self._messages)

    def add(self, messages: Message | dict | Iterable[Message | dict]) -> None:
        items = [messages] if isinstance(messages, Message | dict) else list(messages)
        parsed = [m if isinstance(m, Message) else Message.model_validate(m) for m in items]
        with self._lock:
            self._messages.extend(parsed)

    def history(self, budget_tokens: int | None = None) -> list[Message]:
        """All messages, or the newest whole turns whose estimated size fits ``budget_tokens``."""
        messages = self.messages
        if budget_tokens is None:
            return messages
        if budget_tokens < 0:
            raise ConfigError("budget_tokens must be >= 0", field="budget_tokens")
        kept: list[list[Message]] = []
        used = 0
        for turn in reversed(_turns(messages)):
            size = sum(estimate_tokens(m) for m in turn)
            if used + size > budget_tokens:
                break
            kept.append(turn)
            used += size
        return [m for turn in reversed(kept) for m in turn]

    def get_history(self) -> list[Message]:
        """ModelScope-Agent's name: every message, oldest first (``history()`` can trim)."""
        return self.messages

    def update_history(self, messages: Message | dict | Iterable[Message | dict]) -> None:
        """ModelScope-Agent's name for ``add``: append one message or several."""
        self.add(messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def _target(self, path: str | Path | None) -> Path:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ConfigError("this memory has no file: pass a path, or create it with path= or name=")
        return target

    def save(self, path: str | Path | None = None) -> Path:
        target = self._target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = [m.model_dump(mode="json", exclude_none=True) for m in self.messages]
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(target)  # atomic: a crash mid-write never leaves half a file
        return target

    def load(self, path: str | Path | None = None) -> Memory:
        """Replace the messages with the file's; a missing file means an empty memory."""
        target = self._target(path)
        if not target.exists():
            self.clear()
            return self
        try:
            data = json.loads(target.read_text(encoding="utf-8"))
            parsed = [Message.model_validate(m) for m in data]
        except (ValueError, TypeError) as e:
            raise ConfigError(f"memory file {target} is not a JSON list of messages: {e}", path=str(target)) from e
        with self._lock:
            self._messages = parsed
        return self
