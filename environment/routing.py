"""Routing as data: each registered role holds a subscription answering "is this message mine?"."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

from msagent.errors import EmptySendToError
from msagent.schemas import DEFAULT_SEND_TO, SendTo


class Subscription(Protocol):
    @property
    def role(self) -> str: ...

    def matches(self, sender: str, recipients: frozenset[str] | None) -> bool:
        """``recipients`` None means the message is for all."""
        ...


@dataclass(frozen=True)
class AddressedTo:
    """A normal agent: mail for all, or mail naming it; never its own."""

    role: str

    def matches(self, sender: str, recipients: frozenset[str] | None) -> bool:
        return self.role != sender and (recipients is None or self.role in recipients)


@dataclass(frozen=True)
class WatchAll:
    """A watcher (e.g. the chat room's director): sees every message but its own."""

    role: str

    def matches(self, sender: str, recipients: frozenset[str] | None) -> bool:
        return self.role != sender


def subscription_for(role: str, watcher: bool) -> Subscription:
    return WatchAll(role) if watcher else AddressedTo(role)


def normalize_send_to(send_to: Any) -> SendTo:
    """'all', one role, or a non-empty list of roles; anything empty is an ``EmptySendToError``."""
    if send_to is None:
        raise EmptySendToError("send_to is None; use 'all' or name at least one role", field="send_to")
    if isinstance(send_to, str):
        if not send_to.strip():
            raise EmptySendToError("send_to is empty; use 'all' or a role name", field="send_to")
        return send_to
    if isinstance(send_to, (list, tuple, set, frozenset)):
        roles = [str(r) for r in send_to]
        if not roles:
            raise EmptySendToError("send_to is an empty list; use 'all' or name at least one role", field="send_to")
        if any(not r.strip() for r in roles):
            raise EmptySendToError(f"send_to {roles!r} holds an empty role name", field="send_to")
        return DEFAULT_SEND_TO if DEFAULT_SEND_TO in roles else roles
    raise EmptySendToError(f"send_to must be 'all', a role or a list of roles, not {send_to!r}", field="send_to")


def shard_of(role: str, shards: int) -> int:
    """The shard holding ``role``'s mail among ``shards`` (stable across processes and restarts).
    A mixing hash: CRC-32's low bits are linear in the name's bits, so with 2 or 4 shards names
    like 'a', 'b', 'c' all landed on one shard."""
    if shards <= 1:
        return 0
    digest = hashlib.blake2b(str(role).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards
