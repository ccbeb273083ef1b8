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

Watchers (roles that see every message but their own) are registered on every shard, and on shard
j a watcher gets only the messages whose sender lives on shard j: the originals, which that shard
always stores (first, in the publish's commit), never the copies stored for recipients elsewhere; a
broadcast is on every shard but reaches watchers from its sender's shard only. So each message
reaches a watcher once, and publishing needs no knowledge of watchers (each shard applies the rule
itself). Reading a watcher's mail merges its deliveries from all shards by timestamp (as
``read_log`` does); each Delivery's ``seq`` is a position over all shards: ``watch_mark`` (bit
``LOG_BITS * N``, above every shard's field, so never a plain sequence number) plus, in ``LOG_BITS``
bits per shard, the last delivery taken from each shard up to this one. ``ack``, the acks of
``store_messages``/``publish_and_ack`` and ``ack_many`` split such a position into one ack per shard.
The router learns which of the roles it reads are watchers from a shard (``get_watchers``, sent with
the first reads) and reads the watchers' mail on the other shards after that.

A watcher's own shard is the judge of what it acknowledged, as for every role: its replies, its
ack there and a note of its position on each other shard (``'<role>:<shard>'`` in that shard's
acks: a role name has no ':') are one commit. The acks on the other shards go after it, with the
copies. A crash in between loses nothing and repeats nothing: reading (or pulling) the watcher's
mail leaves out what its own shard noted as acknowledged and finishes those acks; so a retried
step sees what it would see on one Environment, and a retried publish (same message id) is found
by ``find_messages`` and stores nothing twice. The other shards keep no turns of a watcher: in
``get_conversation`` of a watcher that replies, its mail from them (acknowledged) joins the first
turn whose reply came after it in time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, cast

from environment.env import Delivery, Environment, Publishing, Turn, as_message
from environment.routing import normalize_send_to, shard_of
from msagent.errors import ConfigError, MsagentError
from msagent.runtime.calls import call, call_async, is_actor
from msagent.schemas import Message, SendTo

Boundary = tuple[int, ...]
LOG_BITS = 40  # bits of a shard's sequence number in a position over all shards (read_log)
_MASK = (1 << LOG_BITS) - 1


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
        # marks a watcher's position over all shards (see the module doc): above every shard's field
        self.watch_mark = 1 << (LOG_BITS * self.n)

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
        """Roles on their shards; watchers on every shard (each takes its senders' messages there)."""
        names = [roles] if isinstance(roles, str) else [str(r) for r in roles]
        if not names:
            return
        if watcher:  # its own shard first: one that refuses (a normal role of that name) stops it
            for home, group in self._group(names).items():
                call(self._shards[home], "register_roles", group, True)
            self._all("register_roles", names, True)
            return
        self._on({i: ("register_roles", group, False) for i, group in self._group(names).items()})

    def _on_shards_of(self, role: str, method: str, *args: Any) -> None:
        """``method`` on ``role``'s shard, and on every other shard when it is a watcher."""
        home = self.shard_of(role)
        if call(self._shards[home], "is_watcher", role):
            self._on({i: (method, role, *args) for i in range(self.n)})
        else:
            call(self._shards[home], method, role, *args)

    def unregister_role(self, role: str) -> None:
        # a watcher leaves every shard that still has it (also when a cut call left some behind);
        # its own shard answers as one Environment would (no-op when removed, else UnknownRoleError)
        holding = [i for i, names in enumerate(self._all("get_watchers")) if role in names]
        self._on({i: ("unregister_role", role) for i in {self.shard_of(role), *holding}})

    def set_role_enabled(self, role: str, enabled: bool) -> None:
        self._on_shards_of(role, "set_role_enabled", enabled)

    def get_roles(self, include_watchers: bool = True) -> list[str]:
        # a watcher is on every shard: named once
        return list(dict.fromkeys(r for roles in self._all("get_roles", include_watchers) for r in roles))

    def get_watchers(self) -> list[str]:
        return list(call(self._shards[0], "get_watchers"))

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
        first, later = self._split_acks(acks)
        home: dict[int, tuple[list[tuple[str, Message]], list[tuple[str, int]]]] = {
            i: ([], acked) for i, acked in first.items()
        }
        places: list[tuple[int, int]] = []  # (home shard, index in its batch) per message
        for sender, msg in msgs:
            batch = home.setdefault(self.shard_of(sender), ([], []))[0]
            places.append((self.shard_of(sender), len(batch)))
            batch.append((sender, msg))
        seqs = self._on({i: ("store_messages", batch, acked) for i, (batch, acked) in home.items()})
        self._copy(msgs, later)
        return [seqs[shard][index] for shard, index in places]

    def _split_acks(
        self, acks: Iterable[tuple[str, Any]]
    ) -> tuple[dict[int, list[tuple[str, int]]], dict[int, list[tuple[str, int]]]]:
        """``{shard: acks}`` committed first (each role's own shard), and after them (a watcher's
        acks on the other shards, from a position over all shards: see the module doc)."""
        first: dict[int, list[tuple[str, int]]] = {}
        later: dict[int, list[tuple[str, int]]] = {}
        for role, raw in acks:
            role, seq, home = str(role), int(raw), self.shard_of(str(role))
            if seq < self.watch_mark:
                first.setdefault(home, []).append((role, seq))
                continue
            for i in range(self.n):
                pos = (seq >> (LOG_BITS * i)) & _MASK
                if i == home:  # always: an ack of 0 marks a reply as a turn of its sender
                    first.setdefault(i, []).append((role, pos))
                elif pos:  # noted on its own shard in the same commit, then acknowledged there
                    first.setdefault(home, []).append((f"{role}:{i}", pos))
                    later.setdefault(i, []).append((role, pos))
        return first, later

    def _check(self, msgs: Sequence[Message]) -> None:
        """Refuse an unknown or disabled recipient before anything is stored on any shard."""
        wanted: dict[int, set[str]] = {}
        for msg in msgs:
            for role in msg.recipients() or ():
                wanted.setdefault(self.shard_of(role), set()).add(role)
        self._on({i: ("check_recipients", sorted(roles)) for i, roles in wanted.items()})

    def _copy(self, msgs: Sequence[tuple[str, Message]], acks: Mapping[int, list[tuple[str, int]]] = MappingProxyType({})) -> None:
        """The copies of ``msgs`` on the other shards they reach, with ``acks`` (after the commit
        on the senders' shards), one call per shard."""
        copies: dict[int, list[tuple[str, Message]]] = {}
        for sender, msg in msgs:
            for shard in self._targets(sender, msg) - {self.shard_of(sender)}:
                copies.setdefault(shard, []).append((sender, msg))
        shards = set(copies) | set(acks)
        self._on({i: ("store_messages", copies.get(i, []), acks.get(i, [])) for i in shards})

    def check_recipients(self, send_to: SendTo) -> None:
        self._check([Message(role="check", content="", send_to=normalize_send_to(send_to))])

    # --- reading and acknowledging ----------------------------------------------------------------
    def _read(
        self, roles: Sequence[str], until_seq: Any, every_shard: bool
    ) -> tuple[dict[int, int], dict[str, list[Delivery]]]:
        """Each role's mail from its shard (``read_round``, which every Environment has, a pool's
        BatchEnvironment too) and the shards' boundaries; a watcher's from every shard, merged."""
        groups = self._group(roles)
        shards = range(self.n) if every_shard else sorted(groups)
        specs: dict[int, tuple] = {i: ("read_round", groups.get(i, []), self._until(until_seq, i)) for i in shards}
        # every shard knows the watchers: asked first (a small answer, not queued behind a big read)
        watchers = call_async(self._shards[0], "get_watchers") if roles else None
        pending = {i: call_async(self._shards[i], *spec) for i, spec in specs.items()}
        parts = {i: p.result() for i, p in pending.items()}
        bounds = {i: int(part[0]) for i, part in parts.items()}
        mail = {role: m for part in parts.values() for role, m in part[1].items()}
        watching = [w for w in (watchers.result() if watchers else ()) if w in mail]
        if watching:
            until = {i: bounds.get(i, self._until(until_seq, i)) for i in range(self.n)}
            mail.update(self._watchers_mail({w: mail[w] for w in watching}, until))
        return bounds, mail

    def _watchers_mail(
        self, own: Mapping[str, list[Delivery]], until: Mapping[int, int | None]
    ) -> dict[str, list[Delivery]]:
        """Watchers' mail: ``own`` (from their own shards) merged with theirs on the other shards,
        less what their own shards say they acknowledged there (an ack a crash cut short, which
        is finished now)."""
        reads: dict[int, Any] = {}
        for i in range(self.n):
            there = [w for w in own if self.shard_of(w) != i]
            if there:
                reads[i] = call_async(self._shards[i], "read_round", there, until.get(i))
        noted = {i: call_async(self._shards[i], "watch_positions", g) for i, g in self._group(list(own)).items()}
        parts = {i: p.result()[1] for i, p in reads.items()}
        positions = {w: pos for p in noted.values() for w, pos in p.result().items()}
        out: dict[str, list[Delivery]] = {}
        stale: dict[int, list[tuple[str, int]]] = {}
        for w, mine in own.items():
            per: dict[int, Sequence[Delivery]] = {self.shard_of(w): mine}
            for i, part in parts.items():
                got, done = part.get(w, []), positions[w][i]
                if got and got[0].seq <= done:
                    stale.setdefault(i, []).append((w, done))
                    got = [d for d in got if d.seq > done]
                per[i] = got
            out[w] = self._merged(per)
        if stale:
            self._on({i: ("store_messages", [], acks) for i, acks in stale.items()})
        return out

    def _merged(self, parts: Mapping[int, Sequence[Delivery]]) -> list[Delivery]:
        """A watcher's deliveries from every shard by timestamp, each numbered by its position over
        all shards (``watch_mark`` + the last sequence number taken from each shard)."""
        tagged = [[(d.message.timestamp, i, d) for d in part] for i, part in sorted(parts.items())]
        cursor = [0] * self.n
        out: list[Delivery] = []
        for _, shard, d in heapq.merge(*tagged, key=lambda t: (t[0], t[1])):
            cursor[shard] = d.seq
            out.append(Delivery(self.watch_mark | sum(p << (LOG_BITS * i) for i, p in enumerate(cursor)), d.message))
        return out

    def read_mail(self, role: str, until_seq: Any = None) -> list[Delivery]:
        home = self.shard_of(role)
        mail = call_async(self._shards[home], "read_mail", role, self._until(until_seq, home))
        # every shard knows the watchers: ask another one, in parallel
        watchers = call_async(self._shards[(home + 1) % self.n], "get_watchers")
        own = list(mail.result())
        if role not in watchers.result():
            return own
        return self._watchers_mail({role: own}, {i: self._until(until_seq, i) for i in range(self.n)})[role]

    def read_mail_many(self, roles: Sequence[str], until_seq: Any = None) -> dict[str, list[Delivery]]:
        return self._read(roles, until_seq, every_shard=False)[1]

    def read_round(self, roles: Sequence[str], until_seq: Any = None) -> tuple[Boundary, dict[str, list[Delivery]]]:
        bounds, mail = self._read(roles, until_seq, every_shard=True)
        return tuple(bounds[i] for i in range(self.n)), mail

    def last_seq(self) -> Boundary:
        return tuple(int(s) for s in self._all("last_seq"))

    def ack(self, role: str, seq: int) -> None:
        if int(seq) < self.watch_mark:  # a plain sequence number: its role's shard alone
            call(self._shards[self.shard_of(role)], "ack", role, seq)
        else:
            self.ack_many({role: seq})

    def ack_many(self, acks: Mapping[str, int]) -> None:
        """One commit per shard; a watcher's acks on other shards than its own after them."""
        first, later = self._split_acks(acks.items())
        self._on({i: ("store_messages", [], g) for i, g in first.items()})
        if later:
            self._on({i: ("store_messages", [], g) for i, g in later.items()})

    def extract_message_by_role(self, role: str, request_id: str | None = None) -> list[Message]:
        home = self.shard_of(role)
        if not call(self._shards[home], "is_watcher", role):
            return list(call(self._shards[home], "extract_message_by_role", role, request_id))
        # what its own shard noted as acknowledged elsewhere is acknowledged there first (a cut
        # ack); then a pull on every shard (each logged with its answer there: a retry gets it again)
        noted = call(self._shards[home], "watch_positions", [role])[role]
        self._on({i: ("store_messages", [], [(role, pos)]) for i, pos in enumerate(noted) if pos and i != home})
        parts = self._all("extract_message_by_role", role, request_id)
        tagged = [[(m.timestamp, i, m) for m in part] for i, part in enumerate(parts)]
        return [m for _, _, m in heapq.merge(*tagged, key=lambda t: (t[0], t[1]))]

    def get_notified_roles(self, include_watchers: bool = False) -> list[str]:
        # a watcher with mail on several shards is named once
        return list(dict.fromkeys(r for roles in self._all("get_notified_roles", include_watchers) for r in roles))

    def get_message_list(self, role: str) -> list[Message]:
        home = self.shard_of(role)
        if not call(self._shards[home], "is_watcher", role):
            return list(call(self._shards[home], "get_message_list", role))
        tagged = [[(m.timestamp, i, m) for m in part] for i, part in enumerate(self._all("get_message_list", role))]
        return [m for _, _, m in heapq.merge(*tagged, key=lambda t: (t[0], t[1]))]

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
        return self.get_conversations([role], turns)[str(role)]

    def get_conversations(self, roles: Sequence[str], turns: int | None = None) -> dict[str, list[Turn]]:
        parts = self._on({i: ("get_conversations", g, turns) for i, g in self._group(roles).items()})
        out = {role: t for part in parts.values() for role, t in part.items()}
        if any(out.values()):  # watchers that replied: what they received on the other shards too
            for w in [w for w in self.get_watchers() if out.get(w)]:
                out[w] = self._watcher_turns(w, turns)
        return out

    def _watcher_turns(self, role: str, turns: int | None) -> list[Turn]:
        """A watcher's turns: its replies and acks are on its own shard (as the mail it got there);
        the mail it got and acknowledged on the other shards goes to the first turn whose reply
        followed it in time (those shards keep no turns)."""
        home = self.shard_of(role)
        others = [i for i in range(self.n) if i != home]
        own = call_async(self._shards[home], "get_conversation", role, None)
        got = self._on({i: ("get_message_list", role) for i in others})
        unread = {d.message.id for d in self.read_mail(role)}
        foreign = sorted((m for part in got.values() for m in part if m.id not in unread), key=lambda m: m.timestamp)
        out: list[Turn] = []
        k = 0
        for turn in own.result():
            received = list(turn.received)
            while k < len(foreign) and foreign[k].timestamp <= turn.reply.timestamp:
                received.append(foreign[k])
                k += 1
            out.append(Turn(sorted(received, key=lambda m: m.timestamp), turn.reply))
        return out[-turns:] if turns else out

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
            # a watcher is registered on every shard: counted once
            "roles": sum(int(p["roles"]) for p in parts) - (self.n - 1) * len(self.get_watchers()),
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
