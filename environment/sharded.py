"""An Environment split by role over N shards, behind the Environment's API.

``ShardedEnvironment(shards)`` is a small picklable router around N Environments (plain objects or
Ray actors, see ``create_sharded``). It is not an actor itself: whoever holds it (the Task Center,
each pool, each agent) talks to the shards directly, so no single process carries all the traffic.

- A role's mail lives on one shard, ``shard_of(role, N)`` (a hash of its name): its mailbox, its
  acknowledgements and its turns. Sequence numbers are per shard, so a round's boundary
  (``last_seq()``, ``read_round``) is a tuple with one number per shard.
- A publish is stored first on its sender's shard, with the sender's acknowledgement, in one commit
  (that shard is the judge of "accepted", as the single Environment is); then one copy goes to every
  other shard holding a recipient (a broadcast: to every shard). Copies keep the message id, so
  storing one again is a no-op; ``find_messages`` (what a retry after a crash asks first) stores
  the copies a crash between the two steps left out, so a reply the retry finds has reached all its
  recipients.
- Calls that concern several shards are sent to them together (``call_async``), one call per shard.

Durability and the delivery guarantee hold per shard: each shard is an Environment with its own log
(``<data dir>/environments/<name>-<instance>.s<i>.sqlite3``), restarted and rebuilt by itself.
Watchers (roles that see every message) are not supported with more than one shard yet: a watcher
would need every shard's traffic, which is what sharding avoids; registering one is a ``ConfigError``.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from typing import Any, cast

from environment.env import Delivery, Environment, Publishing, Turn, as_message
from environment.routing import normalize_send_to, shard_of
from msagent.errors import ConfigError, MsagentError
from msagent.runtime.calls import call, call_async, is_actor
from msagent.schemas import Message, SendTo

Boundary = tuple[int, ...]
LOG_BITS = 40  # bits of a shard's sequence number in a position over all shards (read_log)


class ShardedEnvironment(Publishing):
    """The Environment API over ``shards`` (index i holds the roles with ``shard_of(role, N) == i``)."""

    def __init__(self, shards: Sequence[Any], name: str = "env", component: str | None = None) -> None:
        if len(shards) < 2:
            raise ConfigError("a sharded environment needs at least 2 shards", field="env_shards")
        self._shards = list(shards)
        self.n = len(self._shards)
        self.name = name
        self.component = component or name
        # an environment whose shards are actors is used from other processes like an actor
        self.over_actors = is_actor(self._shards[0])

    # --- placement --------------------------------------------------------------------------------
    def shard_of(self, role: str) -> int:
        return shard_of(str(role), self.n)

    def shard_handles(self) -> list[Any]:
        return list(self._shards)

    def _group(self, roles: Sequence[str]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for role in roles:
            out.setdefault(self.shard_of(str(role)), []).append(str(role))
        return out

    def _on(self, shards: Mapping[int, tuple]) -> dict[int, Any]:
        """``{shard: (method, *args)}`` sent together; ``{shard: result}``."""
        pending = {i: call_async(self._shards[i], spec[0], *spec[1:]) for i, spec in shards.items()}
        return {i: p.result() for i, p in pending.items()}

    def _all(self, method: str, *args: Any) -> list[Any]:
        results = self._on({i: (method, *args) for i in range(self.n)})
        return [results[i] for i in range(self.n)]

    def _until(self, until: Any, shard: int) -> int | None:
        if until is None:
            return None
        if isinstance(until, (tuple, list)):
            return int(until[shard])
        raise ConfigError(
            f"a sharded environment's mail boundary is a tuple of {self.n} numbers, not {until!r}", field="until"
        )

    def _targets(self, sender: str, msg: Message) -> set[int]:
        """The shards a message is stored on: its sender's, and those of its recipients."""
        explicit = msg.recipients()
        if explicit is None:
            return set(range(self.n))
        return {self.shard_of(sender), *(self.shard_of(r) for r in explicit)}

    # --- roles ------------------------------------------------------------------------------------
    def register_roles(self, roles: str | Sequence[str], watcher: bool = False) -> None:
        names = [roles] if isinstance(roles, str) else [str(r) for r in roles]
        if watcher and names:
            raise ConfigError(
                f"watchers ({names[0]!r}) are not supported in an environment with {self.n} shards: a watcher "
                "sees every message; use env_shards: 1 for a run with watchers",
                field="env_shards",
            )
        self._on({i: ("register_roles", group, False) for i, group in self._group(names).items()})

    def unregister_role(self, role: str) -> None:
        call(self._shards[self.shard_of(role)], "unregister_role", role)

    def set_role_enabled(self, role: str, enabled: bool) -> None:
        call(self._shards[self.shard_of(role)], "set_role_enabled", role, enabled)

    def get_roles(self, include_watchers: bool = True) -> list[str]:
        return [r for roles in self._all("get_roles", include_watchers) for r in roles]

    def get_all_roles(self) -> list[str]:
        return self.get_roles()

    def is_watcher(self, role: str) -> bool:
        return bool(call(self._shards[self.shard_of(role)], "is_watcher", role))

    # --- publishing -------------------------------------------------------------------------------
    def store_messages(
        self,
        items: Sequence[tuple[str, Message | str]],
        acks: Sequence[tuple[str, int]] = (),
        request_id: str | None = None,
    ) -> list[int]:
        """Each message on its sender's shard with the acknowledgements (one commit per shard), then
        its copies on the other shards it reaches; returns the sender shards' sequence numbers."""
        msgs = [(str(s), as_message(str(s), raw, request_id, i)) for i, (s, raw) in enumerate(items)]
        self._check([m for _, m in msgs])
        home: dict[int, tuple[list[tuple[str, Message]], list[tuple[str, int]]]] = {}
        places: list[tuple[int, int]] = []  # (home shard, index in its batch) per message
        for sender, msg in msgs:
            batch = home.setdefault(self.shard_of(sender), ([], []))[0]
            places.append((self.shard_of(sender), len(batch)))
            batch.append((sender, msg))
        for role, seq in acks:
            home.setdefault(self.shard_of(role), ([], []))[1].append((str(role), int(seq)))
        seqs = self._on({i: ("store_messages", batch, acked) for i, (batch, acked) in home.items()})
        self._copy(msgs)
        return [seqs[shard][index] for shard, index in places]

    def _check(self, msgs: Sequence[Message]) -> None:
        """Refuse an unknown or disabled recipient before anything is stored on any shard."""
        wanted: dict[int, set[str]] = {}
        for msg in msgs:
            for role in msg.recipients() or ():
                wanted.setdefault(self.shard_of(role), set()).add(role)
        self._on({i: ("check_recipients", sorted(roles)) for i, roles in wanted.items()})

    def _copy(self, msgs: Sequence[tuple[str, Message]]) -> None:
        copies: dict[int, list[tuple[str, Message]]] = {}
        for sender, msg in msgs:
            for shard in self._targets(sender, msg) - {self.shard_of(sender)}:
                copies.setdefault(shard, []).append((sender, msg))
        self._on({i: ("store_messages", batch) for i, batch in copies.items()})

    def check_recipients(self, send_to: SendTo) -> None:
        self._check([Message(role="check", content="", send_to=normalize_send_to(send_to))])

    # --- reading and acknowledging ----------------------------------------------------------------
    def read_mail(self, role: str, until_seq: Any = None) -> list[Delivery]:
        shard = self.shard_of(role)
        return list(call(self._shards[shard], "read_mail", role, self._until(until_seq, shard)))

    def read_mail_many(self, roles: Sequence[str], until_seq: Any = None) -> dict[str, list[Delivery]]:
        # read_round: every Environment has it (a plain one as well as a pool's BatchEnvironment)
        groups = self._group(roles)
        parts = self._on({i: ("read_round", g, self._until(until_seq, i)) for i, g in groups.items()})
        return {role: mail for _, part in parts.values() for role, mail in part.items()}

    def read_round(self, roles: Sequence[str], until_seq: Any = None) -> tuple[Boundary, dict[str, list[Delivery]]]:
        groups = self._group(roles)
        specs: dict[int, tuple] = {
            i: ("read_round", groups.get(i, []), self._until(until_seq, i)) for i in range(self.n)
        }
        parts = self._on(specs)
        until = tuple(int(parts[i][0]) for i in range(self.n))
        return until, {role: mail for i in range(self.n) for role, mail in parts[i][1].items()}

    def last_seq(self) -> Boundary:
        return tuple(int(s) for s in self._all("last_seq"))

    def ack(self, role: str, seq: int) -> None:
        call(self._shards[self.shard_of(role)], "ack", role, seq)

    def ack_many(self, acks: Mapping[str, int]) -> None:
        groups: dict[int, list[tuple[str, int]]] = {}
        for role, seq in acks.items():
            groups.setdefault(self.shard_of(role), []).append((role, seq))
        self._on({i: ("store_messages", [], g) for i, g in groups.items()})

    def extract_message_by_role(self, role: str, request_id: str | None = None) -> list[Message]:
        return list(call(self._shards[self.shard_of(role)], "extract_message_by_role", role, request_id))

    def get_notified_roles(self, include_watchers: bool = False) -> list[str]:
        return [r for roles in self._all("get_notified_roles", include_watchers) for r in roles]

    def get_message_list(self, role: str) -> list[Message]:
        return list(call(self._shards[self.shard_of(role)], "get_message_list", role))

    # --- the log ----------------------------------------------------------------------------------
    def find_messages(self, msg_ids: Sequence[str]) -> list[Delivery]:
        """The logged messages among ``msg_ids`` (as their sender's shard numbered them). A message
        found on its sender's shard but missing on a shard it reaches (a crash between the two
        steps of a publish) is stored there now."""
        ids = list(msg_ids)
        if not ids:
            return []
        found = self._all("find_messages", ids)
        where: dict[str, set[int]] = {}
        first: dict[str, Delivery] = {}
        for shard, deliveries in enumerate(found):
            for d in deliveries:
                where.setdefault(d.message.id, set()).add(shard)
                if shard == self.shard_of(d.message.sent_from or d.message.role) or d.message.id not in first:
                    first[d.message.id] = d
        missing: dict[int, list[tuple[str, Message]]] = {}
        for msg_id, d in first.items():
            sender = d.message.sent_from or d.message.role
            for shard in self._targets(sender, d.message) - where[msg_id]:
                missing.setdefault(shard, []).append((sender, d.message))
        for shard, batch in missing.items():
            try:
                call(self._shards[shard], "store_messages", batch)
            except MsagentError:  # its recipient was removed or disabled since: nobody to reach there
                for item in batch:
                    try:
                        call(self._shards[shard], "store_messages", [item])
                    except MsagentError:
                        continue
        return sorted(first.values(), key=lambda d: (d.message.timestamp, d.seq))

    def get_conversation(self, role: str, turns: int | None = None) -> list[Turn]:
        return list(call(self._shards[self.shard_of(role)], "get_conversation", role, turns))

    def get_conversations(self, roles: Sequence[str], turns: int | None = None) -> dict[str, list[Turn]]:
        parts = self._on({i: ("get_conversations", g, turns) for i, g in self._group(roles).items()})
        return {role: t for part in parts.values() for role, t in part.items()}

    def extract_all_history_message(self, limit: int | None = 20) -> list[Message]:
        """The newest messages over all shards (a message stored on several shards counts once)."""
        seen: dict[str, Message] = {}
        for part in self._all("extract_all_history_message", limit):
            for msg in part:
                seen.setdefault(msg.id, msg)
        ordered = sorted(seen.values(), key=lambda m: m.timestamp)
        return ordered[-limit:] if limit else ordered

    def read_log(self, after_seq: int = 0, limit: int = 1000) -> list[Delivery]:
        """Every logged message once (from its sender's shard), oldest first by timestamp, at most
        ``limit``. A delivery's ``seq`` is a position over all shards (``LOG_BITS`` bits per shard,
        shard 0 lowest): hand the last one back as ``after_seq`` to read on (a transcript's feed)."""
        mask = (1 << LOG_BITS) - 1
        cursor = [(int(after_seq) >> (LOG_BITS * i)) & mask for i in range(self.n)]
        got = self._on({i: ("read_log", cursor[i], limit, True) for i in range(self.n)})
        parts = [got[i] for i in range(self.n)]
        tagged = [[(d.message.timestamp, i, d) for d in part] for i, part in enumerate(parts)]
        out: list[Delivery] = []
        for _, shard, d in heapq.merge(*tagged, key=lambda t: (t[0], t[1])):
            if len(out) >= limit:
                break
            cursor[shard] = d.seq
            out.append(Delivery(sum(pos << (LOG_BITS * i) for i, pos in enumerate(cursor)), d.message))
        return out

    # --- lifecycle --------------------------------------------------------------------------------
    def reset(self, request_id: str | None = None) -> None:
        self._all("reset", request_id)

    reset_env_queues = reset

    def info(self) -> dict:
        parts = self._all("info")
        return {
            "name": self.name,
            "component": self.component,
            "shards": self.n,
            "shard_info": parts,
            "next_seq": tuple(p["next_seq"] for p in parts),
            "roles": sum(int(p["roles"]) for p in parts),
            "open_messages": sum(int(p["open_messages"]) for p in parts),
        }

    def close(self) -> None:
        for shard in self._shards:
            if not is_actor(shard):
                shard.close()


def shard_name(name: str, index: int) -> str:
    """The component name of shard ``index`` of environment ``name`` (its actor: ``{prefix}_{this}``)."""
    return f"{name}.s{index}"


def create_sharded(
    cls: type[Environment],
    name: str,
    shards: int,
    remote: bool,
    prefix_name: str | None = None,
    force_new: bool = False,
    actor_options: Sequence[Mapping[str, Any] | None] | Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> ShardedEnvironment:
    """N shards of ``cls`` (plain objects, or the named actors ``{prefix}_{name}.s{i}``, each with
    its own log) behind one router; ``actor_options``: for all shards, or a list with one per shard."""
    from msagent.runtime.component import create_component  # the runtime builds actors; no cycle at import
    from msagent.runtime.ids import ComponentId

    instance_id = kwargs.pop("instance_id", None)
    storage_path = kwargs.pop("storage_path", None)
    options: list[Mapping[str, Any] | None]
    if isinstance(actor_options, (list, tuple)):
        options = list(actor_options)
    else:
        options = [cast("Mapping[str, Any] | None", actor_options)] * shards
    handles = []
    for i in range(shards):
        per_shard: dict[str, Any] = dict(kwargs, shard=i, shards=shards)
        if instance_id:
            per_shard["instance_id"] = f"{instance_id}.s{i}"
        if storage_path:
            per_shard["storage_path"] = f"{storage_path}.s{i}"
        handles.append(
            create_component(
                cls, shard_name(name, i), remote=remote, prefix_name=prefix_name, force_new=force_new,
                actor_options=options[i], **per_shard,
            )  # fmt: skip
        )
    return ShardedEnvironment(handles, name=name, component=ComponentId(name, prefix_name).actor_name)


def find_sharded(actor_name: str) -> ShardedEnvironment | None:
    """The sharded environment whose shard actors are ``{actor_name}.s{i}`` (a restarted agent or
    pool finding its environment again), or None."""
    from msagent.runtime.attach import find_actor

    first = find_actor(f"{actor_name}.s0")
    if first is None:
        return None
    count = int(call(first, "info")["shards"])
    handles = [first] + [find_actor(f"{actor_name}.s{i}") for i in range(1, count)]
    if any(h is None for h in handles):
        return None
    name = actor_name.rsplit("_", 1)[-1]
    return ShardedEnvironment(handles, name=name, component=actor_name)
