"""A test Environment that SIGKILLs its own process at chosen moments.

``CrashingEnvironment(crash_plan={'extract_message_by_role': [3, 40], 'ack': [7]}, plan_path=...,
**Environment kwargs)`` kills its process right after the n-th call of a method has done its work
(and committed) and before the answer leaves: the moment a Ray retry must not turn into a lost or
a doubled message. Calls are counted across restarts in ``plan_path`` (a JSON file), so each
planned kill happens once. Counted methods: publishes, reads, pulls and acks.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from environment.env import Delivery, Environment
from msagent.schemas import Message

COUNTED = ("store_message_from_role", "store_messages", "publish_and_ack", "read_mail", "extract_message_by_role", "ack")


class CrashingEnvironment(Environment):
    def __init__(self, crash_plan: dict[str, list[int]], plan_path: str, **kwargs: Any) -> None:
        unknown = set(crash_plan) - set(COUNTED)
        if unknown:
            raise ValueError(f"crash_plan names methods that are not counted: {sorted(unknown)}")
        self._plan = {m: set(ns) for m, ns in crash_plan.items()}
        self._plan_path = Path(plan_path)
        self._depth = 0
        super().__init__(**kwargs)

    def _counted(self, method: str, work: Any) -> Any:
        self._depth += 1
        try:
            result = work()
        finally:
            self._depth -= 1
        if self._depth == 0 and method in self._plan:
            try:
                counts = json.loads(self._plan_path.read_text())
            except (OSError, ValueError):
                counts = {}
            counts[method] = n = int(counts.get(method, 0)) + 1
            self._plan_path.write_text(json.dumps(counts))
            if n in self._plan[method]:
                os.kill(os.getpid(), signal.SIGKILL)  # done and committed, not answered
        return result

    def store_message_from_role(self, role: str, message: Message | str, request_id: str | None = None) -> int:
        return int(self._counted("store_message_from_role", lambda: super(CrashingEnvironment, self)
                                 .store_message_from_role(role, message, request_id)))  # fmt: skip

    def store_messages(
        self,
        items: Sequence[tuple[str, Message | str]],
        acks: Sequence[tuple[str, int]] = (),
        request_id: str | None = None,
    ) -> list[int]:
        return list(self._counted("store_messages", lambda: super(CrashingEnvironment, self)
                                  .store_messages(items, acks, request_id)))  # fmt: skip

    def publish_and_ack(
        self, role: str, message: Message | str, ack_seq: int | None, request_id: str | None = None
    ) -> int:
        return int(self._counted("publish_and_ack", lambda: super(CrashingEnvironment, self)
                                 .publish_and_ack(role, message, ack_seq, request_id)))  # fmt: skip

    def read_mail(self, role: str, until_seq: int | None = None) -> list[Delivery]:
        return list(self._counted("read_mail", lambda: super(CrashingEnvironment, self).read_mail(role, until_seq)))

    def extract_message_by_role(self, role: str, request_id: str | None = None) -> list[Message]:
        return list(self._counted("extract_message_by_role", lambda: super(CrashingEnvironment, self)
                                  .extract_message_by_role(role, request_id)))  # fmt: skip

    def ack(self, role: str, seq: int) -> None:
        self._counted("ack", lambda: super(CrashingEnvironment, self).ack(role, seq))
