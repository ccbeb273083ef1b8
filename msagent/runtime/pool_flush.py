"""What a pool's agents publish during ``step_many``, committed while the others still run.

``MailView`` is a pooled agent's environment during ``step_many``: the mail read for all of them
up front, and a buffer for what they publish (each reply with the acknowledgement of the mail it
answered, put in together). ``Flusher`` commits that buffer from a thread of its own whenever
``batch`` replies wait or ``every_s`` has passed, and once more when the last agent is done: the
commits overlap the other agents' model calls instead of following the last of them (a round of
10,000 agents behind a 50 ms model used to spend seconds after the last reply storing them all).

Each commit is one ``store_messages`` call with its replies and their acknowledgements, so a reply
and its acknowledgement are never apart. If the Environment refuses one reply (e.g. a recipient
disabled meanwhile), the commit's roles go one by one: the others are stored, the refused role's
error is collected and its mail stays. Any other failure (the Environment unreachable) ends the
committing: the replies not stored keep their mail unacknowledged, and ``step_many`` raises it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from environment.env import Delivery
from msagent.errors import MsagentError
from msagent.runtime.calls import call
from msagent.schemas import Message

FLUSH_EVERY_S = 0.1  # most time a finished agent's reply waits for its commit
FLUSH_BATCH = 1024  # replies that start a commit at once


class MailView:
    """What a pooled agent sees as its environment during ``step_many``."""

    def __init__(self, env: Any, mail: Mapping[str, list[Delivery]]) -> None:
        self._env = env
        self._mail = mail
        self._lock = threading.Lock()
        self._items: list[tuple[str, Message]] = []
        self._acks: dict[str, int] = {}
        self.flusher: Flusher | None = None

    def read_mail(self, role: str, until_seq: int | None = None) -> list[Delivery]:
        return list(self._mail.get(role, []))

    def publish_and_ack(self, role: str, message: Message, ack_seq: int | None) -> int:
        with self._lock:
            self._items.append((role, message))
            # an ack of 0 marks a reply to no mail as a turn of its role, as Publishing does
            self._acks[role] = max(ack_seq or 0, self._acks.get(role, 0))
            waiting = len(self._items)
        if self.flusher is not None:
            self.flusher.waiting(waiting)
        return 0  # the sequence number is assigned at the commit

    def store_message_from_role(self, role: str, message: Message | str) -> int:
        msg = message if isinstance(message, Message) else Message(role=role, content=message, sent_from=role)
        return self.publish_and_ack(role, msg, None)

    def ack(self, role: str, seq: int) -> None:
        with self._lock:
            self._acks[role] = max(seq, self._acks.get(role, 0))

    def take(self) -> tuple[list[tuple[str, Message]], dict[str, int]]:
        """What was published and acknowledged since the last ``take``."""
        with self._lock:
            items, acks = self._items, self._acks
            self._items, self._acks = [], {}
        return items, acks

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **kw: call(self._env, name, *a, **kw)


def commit(env: Any, items: list[tuple[str, Message]], acks: dict[str, int], errors: list[BaseException]) -> None:
    """``items`` with ``acks`` in one commit; if a reply is refused, role by role (each role's
    messages with its acknowledgement), the refused ones' errors going to ``errors``."""
    if not items and not acks:
        return
    try:
        call(env, "store_messages", items, list(acks.items()))
        return
    except MsagentError:
        pass
    by_role: dict[str, list[tuple[str, Message]]] = {}
    for role, msg in items:
        by_role.setdefault(role, []).append((role, msg))
    rest = dict(acks)
    for role, msgs in by_role.items():
        ack = rest.pop(role, None)
        try:
            call(env, "store_messages", msgs, [] if ack is None else [(role, ack)])
        except MsagentError as e:
            errors.append(e)
    if rest:  # acknowledgements without a reply (watchers)
        call(env, "store_messages", [], list(rest.items()))


class Flusher:
    """Commits ``view``'s replies to ``env`` from a thread while agents run; ``finish()`` commits
    the rest and stops it, ``failed`` is the error that stopped the committing early (if any)."""

    def __init__(
        self, env: Any, view: MailView, errors: list[BaseException], name: str = "pool",
        every_s: float = FLUSH_EVERY_S, batch: int = FLUSH_BATCH,
    ) -> None:  # fmt: skip
        self._env = env
        self._view = view
        self._errors = errors
        self._every_s = every_s
        self._batch = batch
        self._wake = threading.Event()
        self._last = False
        self.failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"flush-{name}", daemon=True)

    def start(self) -> Flusher:
        self._view.flusher = self
        self._thread.start()
        return self

    def waiting(self, count: int) -> None:
        if count >= self._batch:
            self._wake.set()

    def finish_soon(self) -> None:
        """Every agent is done: commit what is left now."""
        self._last = True
        self._wake.set()

    def finish(self) -> None:
        self.finish_soon()
        self._thread.join()
        self._view.flusher = None

    def _run(self) -> None:
        while True:
            self._wake.wait(self._every_s)
            self._wake.clear()
            last = self._last  # read before taking: whatever came before finish_soon() is taken now
            items, acks = self._view.take()
            if self.failed is None:
                try:
                    commit(self._env, items, acks, self._errors)
                except BaseException as e:  # noqa: BLE001  raised by step_many once the agents are done
                    self.failed = e
            if last:
                return
