"""The Environment: registered roles, per-role mailboxes, send_to routing, history, a durable log.

Public API (same locally and on a Ray actor, where each call is ``ray.get(env.<method>.remote(...))``):

- ``Environment(name='env', storage_path=None, instance_id=None, history_limit=1000, durable=True)``
- ``register_roles(roles, watcher=False)``, ``unregister_role(role)``, ``set_role_enabled(role, enabled)``,
  ``get_roles(include_watchers=True) -> list[str]``
- ``store_message_from_role(role, message: Message | str) -> int`` (the sequence number; the message is
  committed to the log first), ``store_messages([(role, message), ...], acks=()) -> list[int]`` (one
  commit), ``publish_and_ack(role, message, ack_seq) -> int`` (a reply and its acknowledgement, atomically)
- ``check_recipients(send_to)`` (raises as a message to ``send_to`` would, stores nothing)
- ``read_mail(role, until_seq=None) -> list[Delivery]`` (unacknowledged, oldest first), ``ack(role, seq)``,
  ``last_seq()``, ``read_round(roles) -> (last_seq, {role: [Delivery]})`` (a round's mail in one call),
  ``extract_message_by_role(role) -> list[Message]`` (read + ack: drains the mailbox)
- ``extract_all_history_message(limit=20) -> list[Message]``, ``get_notified_roles(include_watchers=False)``
- ``reset()`` / ``reset_env_queues()``, ``info() -> dict``, ``close()``

A fresh ``instance_id`` (the default) starts an empty log; the same ``instance_id`` (a Ray restart
re-runs ``__init__`` with the same arguments) rebuilds mailboxes and history from it. A retried
store of a message id already logged returns the logged sequence number: no duplicates.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from environment.log import LoggedMessage, MessageLog
from environment.routing import Subscription, WatchAll, normalize_send_to, subscription_for
from msagent.errors import AgentDisabledError, DuplicateRoleError, UnknownRoleError
from msagent.runtime.ids import Role
from msagent.schemas import Message, SendTo
from msagent.settings import data_dir


@dataclass(frozen=True)
class Delivery:
    """A message in a mailbox, with the sequence number to acknowledge it by."""

    seq: int
    message: Message


class Environment:
    actor_defaults = MappingProxyType({"max_concurrency": 1, "max_restarts": 5})

    def __init__(
        self,
        name: str = "env",
        storage_path: str | None = None,
        instance_id: str | None = None,
        history_limit: int = 1000,
        durable: bool = True,
    ) -> None:
        self.name = name
        self.instance_id = instance_id or uuid.uuid4().hex
        if not durable:
            path = ":memory:"
        elif storage_path:
            path = storage_path
        else:
            safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)
            path = str(data_dir("environments") / f"{safe}-{self.instance_id}.sqlite3")
        self._lock = threading.RLock()  # local mode: agents step in threads and share this object
        self._log = MessageLog(path)
        self._history_limit = max(1, int(history_limit))
        self._started_at = time.time()
        self._load()

    # --- state ------------------------------------------------------------------------------------
    def _load(self) -> None:
        self._subs: dict[str, Subscription] = {}
        self._enabled: dict[str, bool] = {}
        self._since: dict[str, int] = {}
        self._mail: dict[str, deque[Delivery]] = {}
        self._history: deque[Delivery] = deque(maxlen=self._history_limit)
        self._seen: dict[str, int] = {}
        self._next_seq = 1
        for r in self._log.roles():
            self._add_role(r.role, r.watcher, r.enabled, r.since_seq)
        acks = self._log.acks()
        for row in self._log.messages():
            delivery = Delivery(row.seq, Message.model_validate_json(row.body))
            self._seen[row.msg_id] = row.seq
            self._history.append(delivery)
            self._next_seq = row.seq + 1
            for role in self._targets_of(row):
                if role in self._mail and row.seq > acks.get(role, 0):
                    self._mail[role].append(delivery)

    def _targets_of(self, row: LoggedMessage) -> Iterable[str]:
        if row.recipients is not None:
            return row.recipients
        skip = set(row.excluded)
        return [r for r, since in self._since.items() if r not in skip and since <= row.seq]

    def _add_role(self, role: str, watcher: bool, enabled: bool, since: int) -> None:
        self._subs[role] = subscription_for(role, watcher)
        self._enabled[role] = enabled
        self._since[role] = since
        self._mail[role] = deque()

    def _known(self, role: str) -> str:
        role = str(role)
        if role not in self._subs:
            raise UnknownRoleError(
                f"role {role!r} is not registered in environment {self.name!r}; "
                f"registered: {sorted(self._subs) or 'none'}",
                role=role,
            )
        return role

    # --- roles ------------------------------------------------------------------------------------
    def register_roles(self, roles: str | Sequence[str], watcher: bool = False) -> None:
        """Register roles; registering a role again the same way is a no-op (retries are safe)."""
        names = [roles] if isinstance(roles, str) else list(roles)
        with self._lock:
            for name in names:
                role = Role(str(name)).name
                if role in self._subs:
                    if self._subs[role] != subscription_for(role, watcher):
                        raise DuplicateRoleError(
                            f"role {role!r} is already registered in environment {self.name!r} "
                            f"as a {'watcher' if not watcher else 'normal agent'}",
                            role=role,
                        )
                    continue
                self._log.save_role(role, len(self._subs), watcher, True, self._next_seq)
                self._add_role(role, watcher, True, self._next_seq)

    def unregister_role(self, role: str) -> None:
        with self._lock:
            role = self._known(role)
            self._log.delete_role(role)
            for table in (self._subs, self._enabled, self._since, self._mail):
                table.pop(role, None)

    def set_role_enabled(self, role: str, enabled: bool) -> None:
        with self._lock:
            role = self._known(role)
            self._log.save_role(role, 0, self.is_watcher(role), bool(enabled), self._since[role])
            self._enabled[role] = bool(enabled)

    def get_roles(self, include_watchers: bool = True) -> list[str]:
        with self._lock:
            return [r for r in self._subs if include_watchers or not self.is_watcher(r)]

    def is_watcher(self, role: str) -> bool:
        return isinstance(self._subs[self._known(role)], WatchAll)

    # --- messages ---------------------------------------------------------------------------------
    def store_message_from_role(self, role: str, message: Message | str) -> int:
        return self.store_messages([(role, message)])[0]

    def publish_and_ack(self, role: str, message: Message | str, ack_seq: int | None) -> int:
        """An agent's reply and the acknowledgement of the mail it answered, in one commit: a
        crash leaves either both or neither, so the reply is neither lost nor sent twice."""
        return self.store_messages([(role, message)], acks=[] if ack_seq is None else [(role, ack_seq)])[0]

    def store_messages(
        self, items: Sequence[tuple[str, Message | str]], acks: Sequence[tuple[str, int]] = ()
    ) -> list[int]:
        """Route and persist messages (and acks) in one commit; returns their sequence numbers."""
        with self._lock:
            acks = [(self._known(r), int(seq)) for r, seq in acks]
            seqs: list[int] = []
            rows: list[tuple[LoggedMessage, Delivery, list[str]]] = []
            batch_ids: dict[str, int] = {}
            for sender, raw in items:
                sender = str(sender)
                msg = raw if isinstance(raw, Message) else Message(role=sender, content=str(raw), sent_from=sender)
                if not msg.sent_from:
                    msg = msg.model_copy(update={"sent_from": sender})
                known = self._seen.get(msg.id) or batch_ids.get(msg.id)
                if known is not None:  # a retried call: already accepted once
                    seqs.append(known)
                    continue
                targets, listed, excluded = self._route(sender, msg)
                seq = self._next_seq + len(rows)
                row = LoggedMessage(seq, msg.id, sender, listed, excluded, msg.model_dump_json())
                rows.append((row, Delivery(seq, msg), targets))
                batch_ids[msg.id] = seq
                seqs.append(seq)
            self._log.append([row for row, _, _ in rows], acks)  # committed before anyone is told
            for ack_role, ack_seq in acks:
                self._drop_acked(ack_role, ack_seq)
            for row, delivery, targets in rows:
                self._next_seq = row.seq + 1
                self._seen[row.msg_id] = row.seq
                self._history.append(delivery)
                for role in targets:
                    self._mail[role].append(delivery)
            return seqs

    def _route(self, sender: str, msg: Message) -> tuple[list[str], tuple[str, ...] | None, tuple[str, ...]]:
        explicit = msg.recipients()
        if explicit is not None:
            for role in explicit:
                self._known(role)
                if not self._enabled[role]:
                    raise AgentDisabledError(f"role {role!r} is disabled; enable it before sending to it", role=role)
        wanted = None if explicit is None else frozenset(explicit)
        targets = [r for r, sub in self._subs.items() if self._enabled[r] and sub.matches(sender, wanted)]
        if explicit is not None:
            return targets, tuple(targets), ()
        excluded = tuple(r for r in self._subs if r == sender or not self._enabled[r])
        return targets, None, excluded

    def check_recipients(self, send_to: SendTo) -> None:
        """Raise the error a message addressed by ``send_to`` would get (unknown or disabled role),
        without storing anything: lets a caller refuse a bad address before any model runs."""
        explicit = Message(role="check", content="", send_to=normalize_send_to(send_to)).recipients()
        with self._lock:
            for role in explicit or ():
                self._known(role)
                if not self._enabled[role]:
                    raise AgentDisabledError(f"role {role!r} is disabled; enable it before sending to it", role=role)

    def read_mail(self, role: str, until_seq: int | None = None) -> list[Delivery]:
        """Unacknowledged mail, oldest first; ``until_seq`` leaves later mail for the next read."""
        with self._lock:
            box = self._mail[self._known(role)]
            return [d for d in box if until_seq is None or d.seq <= until_seq]

    def read_round(self, roles: Sequence[str]) -> tuple[int, dict[str, list[Delivery]]]:
        """A round's start in one call: the latest sequence number and, for each registered role
        of ``roles``, its unacknowledged mail up to that number (unknown roles are left out)."""
        with self._lock:
            until = self._next_seq - 1
            return until, {str(r): self.read_mail(r, until) for r in roles if str(r) in self._subs}

    def last_seq(self) -> int:
        """The sequence number of the latest accepted message (0 when none)."""
        return self._next_seq - 1

    def ack(self, role: str, seq: int) -> None:
        """Mark everything up to ``seq`` as processed by ``role`` (idempotent)."""
        with self._lock:
            self._log.ack(self._known(role), int(seq))
            self._drop_acked(role, int(seq))

    def _drop_acked(self, role: str, seq: int) -> None:
        box = self._mail[role]
        while box and box[0].seq <= seq:
            box.popleft()

    def extract_message_by_role(self, role: str) -> list[Message]:
        with self._lock:
            mail = self.read_mail(role)
            if mail:
                self.ack(role, mail[-1].seq)
            return [d.message for d in mail]

    def extract_all_history_message(self, limit: int | None = 20) -> list[Message]:
        with self._lock:
            items = list(self._history)
        return [d.message for d in (items[-limit:] if limit else items)]

    def get_notified_roles(self, include_watchers: bool = False) -> list[str]:
        with self._lock:
            return [
                r
                for r, box in self._mail.items()
                if box and self._enabled[r] and (include_watchers or not self.is_watcher(r))
            ]

    def reset(self) -> None:
        """Forget all messages (mailboxes, history, log); registered roles stay."""
        with self._lock:
            self._log.clear_messages()
            self._load()

    reset_env_queues = reset

    def info(self) -> dict:
        with self._lock:
            return {
                "name": self.name,
                "pid": os.getpid(),
                "started_at": self._started_at,
                "instance_id": self.instance_id,
                "storage_path": self._log.path,
                "next_seq": self._next_seq,
                "roles": len(self._subs),
            }

    def close(self) -> None:
        self._log.close()
