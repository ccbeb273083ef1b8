"""The Environment: registered roles, per-role mailboxes, send_to routing, history, a durable log.

Public API (same locally and on a Ray actor, where each call is ``ray.get(env.<method>.remote(...))``):

- ``Environment(name='env', storage_path=None, instance_id=None, history_limit=1000, durable=True,
  roles=None, prefix_name=None)``
- ``register_roles(roles, watcher=False)``, ``unregister_role(role)``, ``set_role_enabled(role, enabled)``,
  ``get_roles(include_watchers=True)`` / ``get_all_roles()``, ``is_watcher(role)``
- ``store_message_from_role(role, message, request_id=None) -> int`` (the sequence number; committed
  to the log first), ``store_messages([(role, message), ...], acks=(), request_id=None) -> list[int]``
  (one commit), ``publish_and_ack(role, message, ack_seq, request_id=None) -> int`` (a reply and its
  acknowledgement, atomically), ``check_recipients(send_to)``
- ``read_mail(role, until_seq=None) -> list[Delivery]`` (unacknowledged, oldest first), ``ack(role, seq)``,
  ``last_seq()``, ``read_round(roles) -> (last_seq, {role: [Delivery]})``,
  ``extract_message_by_role(role, request_id=None) -> list[Message]`` (read + ack: drains the mailbox)
- ``find_messages(msg_ids) -> list[Delivery]``, ``get_conversation(role)`` /
  ``get_conversations(roles)`` (what a role received and replied, turn by turn, from the log),
  ``get_message_list(role)``, ``extract_all_history_message(limit=20)``, ``get_notified_roles()``
- ``reset(request_id=None)`` / ``reset_env_queues()``, ``info() -> dict``, ``close()``
- ``get_watchers()``; as one shard of a ``ShardedEnvironment`` (``shard``, ``shards``): watchers
  get only the messages of this shard's senders, ``watch_positions(roles)`` (environment/sharded.py)

Delivery guarantee: every call is idempotent under Ray's retries. A message keeps its id: storing
an id already logged returns its sequence number (the log is the judge, also after a restart); a
plain-text message gets its id from the call's ``request_id`` (on a Ray actor the host fills it in
with the task id, which a retry keeps). A pull with a ``request_id`` is logged with its answer in
the ack's commit, so a retried pull returns the same mail. Acks are maxima (acking twice is a no-op).
Identity: ``instance_id`` names the log (``<data dir>/environments/<name>-<instance_id>.sqlite3``); a
named actor gets its actor name as ``instance_id`` from ``create_component``, so a restarted actor,
or a new one under the same name, reopens the same log. ``discard_state`` deletes it (``force_new``).
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic_core import PydanticSerializationError

from environment.log import DuplicateIdError, LoggedMessage, MessageLog, discard
from environment.routing import Subscription, WatchAll, normalize_send_to, shard_of, subscription_for
from msagent.errors import AgentDisabledError, DuplicateRoleError, InvalidContentError, UnknownRoleError
from msagent.runtime.ids import ComponentId, Role
from msagent.schemas import Message, SendTo, clean_text
from msagent.settings import data_dir

HISTORY_CACHE = 1000  # newest messages kept in memory; older history is read from the log
SEEN_CACHE = 100_000  # recent message ids kept in memory; older ones are looked up in the log
_ID_NAMESPACE = uuid.UUID("6f1d3c55-8d2f-4a51-9a53-0b8d1c5e2a10")


@dataclass(frozen=True)
class Delivery:
    """A message in a mailbox, with the sequence number to acknowledge it by."""

    seq: int
    message: Message


@dataclass(frozen=True)
class Turn:
    """One published reply of a role and the mail it answered (what its prompt was built from)."""

    received: list[Message]
    reply: Message


def derived_id(key: str, index: int = 0) -> str:
    """A message id that a retry of the same call computes again (``key``: a request or step id)."""
    return uuid.uuid5(_ID_NAMESPACE, f"{key}/{index}").hex


def as_message(sender: str, raw: Any, request_id: str | None, index: int) -> Message:
    """What a publish of ``raw`` by ``sender`` stores: a Message with its sender filled in; text
    gets an id derived from the call's request id (a retry computes it again)."""
    if isinstance(raw, Message):
        return raw if raw.sent_from else raw.model_copy(update={"sent_from": sender})
    if not isinstance(raw, str):
        raise InvalidContentError(
            f"a message from {sender!r} must be text or a Message, not {type(raw).__name__}", role=sender
        )
    if request_id:
        return Message(id=derived_id(request_id, index), role=sender, content=raw, sent_from=sender)
    return Message(role=sender, content=raw, sent_from=sender)


def log_path(name: str, instance_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.\-]", "_", f"{name}-{instance_id}")
    return data_dir("environments") / f"{safe}.sqlite3"


class Publishing:
    """The one-message ways to publish, for every Environment kind (one, or sharded): each is one
    ``store_messages`` call."""

    def store_messages(
        self,
        items: Sequence[tuple[str, Message | str]],
        acks: Sequence[tuple[str, int]] = (),
        request_id: str | None = None,
    ) -> list[int]:
        raise NotImplementedError

    def store_message_from_role(self, role: str, message: Message | str, request_id: str | None = None) -> int:
        return self.store_messages([(role, message)], request_id=request_id)[0]

    def publish_and_ack(
        self, role: str, message: Message | str, ack_seq: int | None, request_id: str | None = None
    ) -> int:
        """An agent's reply and the acknowledgement of the mail it answered, in one commit: a
        crash leaves either both or neither, so the reply is neither lost nor sent twice."""
        # an ack of 0 changes nothing but marks the message as a turn of this role (conversations)
        acks = [(role, 0 if ack_seq is None else ack_seq)]
        return self.store_messages([(role, message)], acks=acks, request_id=request_id)[0]


class Environment(Publishing):
    # restarted without limit; calls in flight are retried on the restarted actor (idempotent)
    actor_defaults = MappingProxyType({"max_concurrency": 1, "max_restarts": -1})
    # a call without a request id gets the Ray task id (stable across retries) from the actor host
    request_keyed = ("store_message_from_role", "store_messages", "publish_and_ack", "extract_message_by_role", "reset")

    def __init__(
        self,
        name: str = "env",
        storage_path: str | None = None,
        instance_id: str | None = None,
        history_limit: int = 1000,
        durable: bool = True,
        roles: Sequence[str] | None = None,
        prefix_name: str | None = None,
        shard: int = 0,
        shards: int = 1,
    ) -> None:
        self.name = name
        # one shard of a ShardedEnvironment: it holds the roles that hash to ``shard`` and takes
        # of an addressed message only the recipients it holds (the router sends it where needed)
        self.shard, self.shards = int(shard), max(1, int(shards))
        self.component = ComponentId(name, prefix_name).actor_name
        self.instance_id = instance_id or uuid.uuid4().hex
        path = ":memory:" if not durable else (storage_path or str(log_path(name, self.instance_id)))
        self._lock = threading.RLock()  # local mode: agents step in threads and share this object
        self._log = MessageLog(path)
        self._history_limit = max(1, int(history_limit))
        self._started_at = time.time()
        t0 = time.perf_counter()
        self._load()
        self._load_seconds = time.perf_counter() - t0
        if roles:
            self.register_roles(roles)

    @classmethod
    def discard_state(
        cls, name: str = "env", storage_path: str | None = None, instance_id: str | None = None,
        durable: bool = True, **_: Any,
    ) -> None:  # fmt: skip
        """Delete the log this constructor would open (a component created anew starts empty); a
        file the caller named with ``storage_path`` is theirs and stays."""
        if durable and not storage_path and instance_id:
            discard(log_path(name, instance_id))

    # --- state ------------------------------------------------------------------------------------
    def _load(self) -> None:
        """Rebuild from the log: roles, acks, the open (not fully acknowledged) messages and the
        newest history; closed messages are not read."""
        self._subs: dict[str, Subscription] = {}
        self._watching: set[str] = set()  # the watchers among the roles
        self._enabled: dict[str, bool] = {}
        self._since: dict[str, int] = {}
        self._removed: set[str] = set()
        self._mail: dict[str, deque[Delivery]] = {}
        self._pending: dict[int, int] = {}  # seq -> mailboxes still holding it
        self._history: deque[Delivery] = deque(maxlen=min(self._history_limit, HISTORY_CACHE))
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._next_seq = self._log.next_seq()
        for r in self._log.roles():
            if r.removed:
                self._removed.add(r.role)
            else:
                self._add_role(r.role, r.watcher, r.enabled, r.since_seq)
        acks = self._log.acks()
        # a watcher's positions on the other shards of a sharded environment ('<role>:<shard>')
        self._positions = {k: v for k, v in acks.items() if ":" in k}
        parsed: dict[int, Message] = {}
        healed: list[int] = []
        for row in self._log.open_messages():
            holders = [r for r in self._targets_of(row) if r in self._mail and row.seq > acks.get(r, 0)]
            if not holders:
                healed.append(row.seq)
                continue
            delivery = Delivery(row.seq, parsed.setdefault(row.seq, Message.model_validate_json(row.body)))
            for role in holders:
                self._mail[role].append(delivery)
            self._pending[row.seq] = len(holders)
        for row in self._log.newest(self._history.maxlen or 1):
            msg = parsed.get(row.seq) or Message.model_validate_json(row.body)
            self._history.append(Delivery(row.seq, msg))
            self._remember(row.msg_id, row.seq)
        self._log.append([], closed=healed)

    def _targets_of(self, row: LoggedMessage) -> Iterable[str]:
        if row.recipients is not None:
            return row.recipients
        skip = set(row.excluded)
        return [r for r, since in self._since.items() if r not in skip and since <= row.seq]

    def _add_role(self, role: str, watcher: bool, enabled: bool, since: int) -> None:
        self._subs[role] = subscription_for(role, watcher)
        if watcher:
            self._watching.add(role)
        self._enabled[role] = enabled
        self._since[role] = since
        self._mail[role] = deque()
        self._removed.discard(role)

    def _known(self, role: str) -> str:
        role = str(role)
        if role not in self._subs:
            raise UnknownRoleError(
                f"role {role!r} is not registered in environment {self.name!r}; "
                f"registered: {sorted(self._subs) or 'none'}",
                role=role,
            )
        return role

    def _remember(self, msg_id: str, seq: int) -> None:
        self._seen[msg_id] = seq
        if len(self._seen) > SEEN_CACHE:
            self._seen.popitem(last=False)

    # --- roles ------------------------------------------------------------------------------------
    def register_roles(self, roles: str | Sequence[str], watcher: bool = False) -> None:
        """Register roles; registering a role again the same way is a no-op (retries are safe)."""
        names = [roles] if isinstance(roles, str) else list(roles)
        with self._lock:
            new: dict[str, int] = {}
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
                new.setdefault(role, len(self._subs) + len(new))
            # one commit for all of them (a pool registers thousands at once)
            self._log.save_roles([(role, order, watcher, True, self._next_seq) for role, order in new.items()])
            for role in new:
                self._add_role(role, watcher, True, self._next_seq)

    def unregister_role(self, role: str) -> None:
        """Remove a role and drop its unread mail; removing a removed role again is a no-op."""
        with self._lock:
            if str(role) in self._removed:
                return
            role = self._known(role)
            closed = [d.seq for d in self._mail[role] if self._release(d.seq)]
            self._log.remove_role(role, closed)
            for table in (self._subs, self._enabled, self._since, self._mail):
                table.pop(role, None)
            self._watching.discard(role)
            self._removed.add(role)

    def set_role_enabled(self, role: str, enabled: bool) -> None:
        with self._lock:
            role = self._known(role)
            self._log.save_role(role, 0, self.is_watcher(role), bool(enabled), self._since[role])
            self._enabled[role] = bool(enabled)

    def get_roles(self, include_watchers: bool = True) -> list[str]:
        with self._lock:
            return [r for r in self._subs if include_watchers or not self.is_watcher(r)]

    def get_all_roles(self) -> list[str]:
        """The seed's name: every registered role."""
        return self.get_roles()

    def is_watcher(self, role: str) -> bool:
        return isinstance(self._subs[self._known(role)], WatchAll)

    def get_watchers(self) -> list[str]:
        """The registered watchers (on a shard: every watcher of the environment)."""
        with self._lock:
            return [r for r in self._subs if r in self._watching]

    def watch_positions(self, roles: Sequence[str]) -> dict[str, list[int]]:
        """On a watcher's own shard: what it acknowledged on each shard, committed with its replies
        here (the other shards are acknowledged after that; see environment/sharded.py)."""
        with self._lock:
            return {str(r): [self._positions.get(f"{r}:{i}", 0) for i in range(self.shards)] for r in roles}

    # --- messages ---------------------------------------------------------------------------------
    def store_messages(
        self,
        items: Sequence[tuple[str, Message | str]],
        acks: Sequence[tuple[str, int]] = (),
        request_id: str | None = None,
    ) -> list[int]:
        """Route and persist messages (and acks) in one commit; returns their sequence numbers."""
        with self._lock:
            # on a shard, '<watcher>:<shard>' notes where a watcher of this shard stands on another
            # one (environment/sharded.py); a role name has no ':'
            noted = self.shards > 1
            marks = [(str(r), int(seq)) for r, seq in acks if noted and ":" in str(r)]
            for r, _ in marks:
                self._known(r.split(":", 1)[0])
            acks = [(self._known(r), int(seq)) for r, seq in acks if not (noted and ":" in str(r))]
            msgs = [
                (str(sender), self._as_message(str(sender), raw, request_id, i))
                for i, (sender, raw) in enumerate(items)
            ]
            try:
                return self._store(msgs, acks, {}, marks)
            except DuplicateIdError:  # an id the log has but memory forgot: a retry after a restart
                return self._store(msgs, acks, self._log.seqs_of_ids([m.id for _, m in msgs]), marks)

    def _store(
        self,
        msgs: list[tuple[str, Message]],
        acks: list[tuple[str, int]],
        logged: dict[str, int],
        marks: Sequence[tuple[str, int]] = (),
    ) -> list[int]:
        """One commit of messages, acks and a watcher's positions on other shards (``marks``);
        ``logged`` holds ids found in the log (a retry)."""
        acked = dict(acks)
        seqs: list[int] = []
        rows: list[tuple[LoggedMessage, Delivery, list[str]]] = []
        batch_ids: dict[str, int] = {}
        for sender, msg in msgs:
            known = self._seen.get(msg.id) or logged.get(msg.id) or batch_ids.get(msg.id)
            if known is not None:  # a retried call: already accepted once
                seqs.append(known)
                continue
            try:
                targets, listed, excluded = self._shard_rule(sender, *self._route(sender, msg))
            except (UnknownRoleError, AgentDisabledError):
                # a retry of a message accepted before a restart (and before its recipient
                # went away) is answered with its number, not with today's routing error
                found = logged or self._log.seqs_of_ids([msg.id])
                if msg.id in found:
                    seqs.append(found[msg.id])
                    continue
                raise
            seq = self._next_seq + len(rows)
            msg, body = _serialized(msg)
            row = LoggedMessage(seq, msg.id, sender, listed, excluded, body, acked.get(sender))
            rows.append((row, Delivery(seq, msg), targets))
            batch_ids[msg.id] = seq
            seqs.append(seq)
        closed = [s for role, seq in acks for s in self._acked_seqs(role, seq) if self._pending.get(s, 0) <= 1]
        flags = [bool(targets) for _, _, targets in rows]
        # committed before anyone is told
        self._log.append([row for row, _, _ in rows], [*acks, *marks], closed, flags)
        for key, seq in marks:
            self._positions[key] = max(seq, self._positions.get(key, 0))
        for ack_role, ack_seq in acks:
            self._drop_acked(ack_role, ack_seq)
        for row, delivery, targets in rows:
            self._next_seq = row.seq + 1
            self._remember(row.msg_id, row.seq)
            self._history.append(delivery)
            for role in targets:
                self._mail[role].append(delivery)
            if targets:
                self._pending[row.seq] = len(targets)
        return seqs

    def _as_message(self, sender: str, raw: Any, request_id: str | None, index: int) -> Message:
        return as_message(sender, raw, request_id, index)

    def _mine(self, roles: Sequence[str]) -> list[str]:
        """The roles of ``roles`` this shard holds (all of them when not sharded)."""
        if self.shards == 1:
            return list(roles)
        return [r for r in roles if shard_of(r, self.shards) == self.shard]

    def _route(self, sender: str, msg: Message) -> tuple[list[str], tuple[str, ...] | None, tuple[str, ...]]:
        explicit = msg.recipients()
        if explicit is not None:
            explicit = self._mine(explicit)
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

    def _shard_rule(
        self, sender: str, targets: list[str], listed: tuple[str, ...] | None, excluded: tuple[str, ...]
    ) -> tuple[list[str], tuple[str, ...] | None, tuple[str, ...]]:
        """On a shard, watchers (registered on every shard) get a message only from the shard of
        its sender, which always stores it: each message reaches a watcher once overall."""
        if self.shards == 1 or not self._watching or shard_of(sender, self.shards) == self.shard:
            return targets, listed, excluded
        kept = [r for r in targets if r not in self._watching]
        if listed is not None:
            return kept, tuple(kept), excluded
        return kept, None, (*excluded, *(r for r in self._watching if r not in excluded))

    def check_recipients(self, send_to: SendTo) -> None:
        """Raise the error a message addressed by ``send_to`` would get (unknown or disabled role),
        without storing anything: lets a caller refuse a bad address before any model runs."""
        explicit = Message(role="check", content="", send_to=normalize_send_to(send_to)).recipients()
        with self._lock:
            for role in self._mine(explicit or ()):
                self._known(role)
                if not self._enabled[role]:
                    raise AgentDisabledError(f"role {role!r} is disabled; enable it before sending to it", role=role)

    def read_mail(self, role: str, until_seq: int | None = None) -> list[Delivery]:
        """Unacknowledged mail, oldest first; ``until_seq`` leaves later mail for the next read."""
        with self._lock:
            box = self._mail[self._known(role)]
            if until_seq is None or not box or box[-1].seq <= until_seq:
                return list(box)
            return [d for d in box if d.seq <= until_seq]

    def read_round(
        self, roles: Sequence[str], until_seq: int | None = None
    ) -> tuple[int, dict[str, list[Delivery]]]:
        """A round's start in one call: the latest sequence number (or ``until_seq``) and, for each
        registered role of ``roles``, its unacknowledged mail up to it (unknown roles are left out)."""
        with self._lock:
            until = self._next_seq - 1 if until_seq is None else int(until_seq)
            return until, {str(r): self.read_mail(r, until) for r in roles if str(r) in self._subs}

    def last_seq(self) -> int:
        """The sequence number of the latest accepted message (0 when none)."""
        return self._next_seq - 1

    def ack(self, role: str, seq: int) -> None:
        """Mark everything up to ``seq`` as processed by ``role`` (idempotent)."""
        self.store_messages([], acks=[(role, seq)])

    def _acked_seqs(self, role: str, seq: int) -> list[int]:
        out: list[int] = []
        for d in self._mail[role]:  # oldest first: stop at the first one not acknowledged
            if d.seq > seq:
                break
            out.append(d.seq)
        return out

    def _drop_acked(self, role: str, seq: int) -> None:
        box = self._mail[role]
        while box and box[0].seq <= seq:
            self._release(box.popleft().seq)

    def _release(self, seq: int) -> bool:
        """One mailbox let go of ``seq``; True when none holds it any more."""
        left = self._pending.get(seq, 1) - 1
        if left > 0:
            self._pending[seq] = left
            return False
        self._pending.pop(seq, None)
        return True

    def extract_message_by_role(self, role: str, request_id: str | None = None) -> list[Message]:
        """Take and acknowledge ``role``'s mail. With a ``request_id`` the answer is logged in the
        ack's commit, so the same request (a retry after a crash) gets the same messages again."""
        with self._lock:
            if request_id:  # answered before (also if the role is gone since)
                done = self._log.pull(request_id)
                if done is not None:
                    return [d.message for d in self._deliveries(done[1])]
            role = self._known(role)
            mail = self.read_mail(role)
            if not mail and not request_id:
                return []
            seqs = [d.seq for d in mail]
            acks = [(role, seqs[-1])] if seqs else []
            closed = [s for s in seqs if self._pending.get(s, 0) <= 1]
            self._log.append([], acks, closed, pull=(request_id, role, seqs) if request_id else None)
            if seqs:
                self._drop_acked(role, seqs[-1])
            return [d.message for d in mail]

    def _deliveries(self, seqs: Sequence[int]) -> list[Delivery]:
        return [Delivery(r.seq, Message.model_validate_json(r.body)) for r in self._log.by_seqs(seqs)]

    def find_messages(self, msg_ids: Sequence[str]) -> list[Delivery]:
        """The logged messages among ``msg_ids`` (e.g. to learn whether a reply went out)."""
        with self._lock:
            found = self._log.seqs_of_ids(list(msg_ids))
            return self._deliveries(sorted(found.values()))

    def get_conversation(self, role: str, turns: int | None = None) -> list[Turn]:
        return self.get_conversations([role], turns)[str(role)]

    def get_conversations(self, roles: Sequence[str], turns: int | None = None) -> dict[str, list[Turn]]:
        """Each role's published replies (the newest ``turns``), each with the mail it acknowledged,
        from the log: what an agent needs to rebuild its history after a restart or on resume."""
        with self._lock:
            replies: dict[str, list[LoggedMessage]] = {}
            start = None
            names = [str(r) for r in roles]
            # thousands of new agents ask at once: look up only the roles that have spoken
            speakers = self._log.senders_with_turns(names) if len(names) > 1 else set(names)
            for role in names:
                rows = list(self._log.turns_of(role)) if role in speakers else []
                kept = rows[-turns:] if turns else rows
                before = [r.ack_seq for r in rows[: len(rows) - len(kept)] if r.ack_seq]
                first = max(before) if before else 0
                start = first if start is None else min(start, first)
                replies[role] = kept
            ends = [r.ack_seq for rows in replies.values() for r in rows if r.ack_seq]
            received: dict[str, list[LoggedMessage]] = {role: [] for role in replies}
            if ends:  # one pass over the acknowledged range serves every role asked for
                for row in self._log.messages(start or 0, max(ends)):
                    for role in self._targets_of(row):
                        if role in received and row.sender != role:
                            received[role].append(row)
            out: dict[str, list[Turn]] = {}
            for role, rows in replies.items():
                inbox = received[role]
                last_ack = min((r.seq for r in inbox), default=1) - 1
                out[role] = []
                for reply in rows:
                    end = reply.ack_seq or 0
                    got = [Message.model_validate_json(r.body) for r in inbox if last_ack < r.seq <= end]
                    last_ack = max(last_ack, end)
                    out[role].append(Turn(got, Message.model_validate_json(reply.body)))
            return out

    def read_log(self, after_seq: int = 0, limit: int = 1000, home_only: bool = False) -> list[Delivery]:
        """Logged messages after ``after_seq``, oldest first, at most ``limit`` (a transcript's feed);
        ``home_only``: on a shard, only messages sent by its own roles (each message once overall)."""
        limit = max(1, int(limit))
        with self._lock:
            out: list[Delivery] = []
            after = int(after_seq)
            while len(out) < limit:
                rows = list(self._log.messages(after, None, limit))
                if not rows:
                    break
                after = rows[-1].seq
                for r in rows:
                    if not home_only or shard_of(r.sender, self.shards) == self.shard:
                        out.append(Delivery(r.seq, Message.model_validate_json(r.body)))
                if not home_only:
                    break
            return out[:limit]

    def get_message_list(self, role: str) -> list[Message]:
        """Every message ``role`` received, read or not, oldest first (the seed's per-role list)."""
        with self._lock:
            role = self._known(role)
            return [
                Message.model_validate_json(r.body)
                for r in self._log.messages(self._since[role] - 1)
                if role in self._targets_of(r)
            ]

    def extract_all_history_message(self, limit: int | None = 20) -> list[Message]:
        with self._lock:
            want = self._history_limit if not limit else min(int(limit), self._history_limit)
            if want <= len(self._history) or len(self._history) < (self._history.maxlen or 0):
                items = list(self._history)
                return [d.message for d in items[-want:]]
            return [Message.model_validate_json(r.body) for r in self._log.newest(want)]

    def get_notified_roles(self, include_watchers: bool = False) -> list[str]:
        with self._lock:
            return [
                r
                for r, box in self._mail.items()
                if box and self._enabled[r] and (include_watchers or not self.is_watcher(r))
            ]

    def reset(self, request_id: str | None = None) -> None:
        """Forget all messages (mailboxes, history, log); registered roles stay. Sequence numbers
        go on from where they were, so an acknowledgement sent before the reset cannot touch new mail."""
        with self._lock:
            if request_id and self._log.meta("reset_id") == request_id:
                return  # a retried reset: done once already
            self._log.clear_messages(self._next_seq, request_id)
            self._load()

    reset_env_queues = reset

    def info(self) -> dict:
        with self._lock:
            return {
                "name": self.name,
                "component": self.component,
                "pid": os.getpid(),
                "started_at": self._started_at,
                "load_seconds": self._load_seconds,
                "instance_id": self.instance_id,
                "storage_path": self._log.path,
                "next_seq": self._next_seq,
                "roles": len(self._subs),
                "open_messages": len(self._pending),
                "shard": self.shard,
                "shards": self.shards,
            }

    def close(self) -> None:
        self._log.close()


def _serialized(msg: Message) -> tuple[Message, str]:
    """The message and its JSON; text that cannot be encoded (a lone surrogate set after
    validation) is repaired rather than refused, so one bad character never blocks a reply."""
    try:
        return msg, msg.model_dump_json()
    except PydanticSerializationError:
        fixed = msg.model_copy(update={"content": clean_text(msg.content)})
        return fixed, fixed.model_dump_json()
