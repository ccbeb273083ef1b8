"""SIGKILL of the Environment actor's worker process while 10,000 messages are published, pulled,
read and acknowledged: at random moments from outside, and from inside right after a randomly
chosen publish / read / pull / ack has committed but before it answered (``CrashingEnvironment``).
Every role gets each of its messages exactly once. The same with the Environment split over 2
shards (``env_shards``): each shard crashes at those points and is killed from outside, roles on
both shards; each role still gets each message once and each shard stored exactly its share."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from environment.routing import shard_of
from environment.sharded import ShardedEnvironment, shard_name
from msagent.runtime import call, create_component
from msagent.runtime.testing_env import CrashingEnvironment
from msagent.schemas import Message

ROLES = ["p0", "p1", "r0", "r1"]  # p*: drained by pull (read + ack in one call); r*: read, then ack
TOTAL = 10_000


def roles_on_every_shard(shards: int) -> list[str]:
    """A pulled (p*) and a read (r*) role on every shard."""
    return [
        next(f"{k}{i}" for i in range(100) if shard_of(f"{k}{i}", shards) == s)
        for s in range(shards)
        for k in "pr"
    ]


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("shards", [1, 2])
def test_sigkill_at_random_points_loses_and_duplicates_nothing(ray_cluster, tmp_path, shards):

    import ray

    prefix = f"kill{uuid.uuid4().hex[:6]}"
    rng = random.Random(13)
    plan = {
        "store_message_from_role": [rng.randint(20, 200)],
        "store_messages": sorted(rng.sample(range(20, 150), 2)),
        "extract_message_by_role": sorted(rng.sample(range(5, 60), 3)),
        "read_mail": [rng.randint(5, 60)],
        "ack": [rng.randint(5, 60)],
    }
    roles = ROLES if shards == 1 else roles_on_every_shard(shards)
    if shards == 1:
        counts = [tmp_path / "calls.json"]
        env = create_component(
            CrashingEnvironment, "env", remote=True, prefix_name=prefix, force_new=True,
            crash_plan=plan, plan_path=str(counts[0]),
        )  # fmt: skip
        actors = [env]
    else:
        # what env_shards=N builds (environment.sharded.create_sharded), with a call count per shard;
        # a shard stores what the router sends it with store_messages (single publishes included)
        del plan["store_message_from_role"]
        counts = [tmp_path / f"calls.s{i}.json" for i in range(shards)]
        actors = []
        for i in range(shards):
            actors.append(create_component(
                CrashingEnvironment, shard_name("env", i), remote=True, prefix_name=prefix, force_new=True,
                crash_plan=plan, plan_path=str(counts[i]), shard=i, shards=shards,
            ))  # fmt: skip
        env = ShardedEnvironment(actors)
    call(env, "register_roles", roles)
    stored = Counter[int]()  # messages each shard must hold: the sender's shard, and the recipients'
    expected: dict[str, Counter[str]] = {r: Counter() for r in roles}
    received: dict[str, Counter[str]] = {r: Counter() for r in roles}
    done = threading.Event()
    errors: list[BaseException] = []

    threads_out = ThreadPoolExecutor(8)  # the router's calls in flight, as .remote() for one actor

    def send(method: str, *args: object) -> object:
        if shards == 1:
            return getattr(env, method).remote(*args)
        return threads_out.submit(call, env, method, *args)

    def wait(pending: list) -> None:
        if shards == 1:
            ray.get(pending)
        else:
            for p in pending:
                p.result()

    def publish() -> None:
        sent = 0
        pending: list = []
        while sent < TOTAL:
            n = min(TOTAL - sent, rng.choice([1, 1, 20]))
            batch = []
            for _ in range(n):
                if sent % 25 == 0:  # a broadcast reaches every role
                    msg = Message(role="src", content=f"b{sent}", sent_from="src")
                    for r in roles:
                        expected[r][msg.id] += 1
                    stored.update(range(shards))
                else:
                    to = roles[sent % len(roles)]
                    msg = Message(role="src", content=f"m{sent}", sent_from="src", send_to=to)
                    expected[to][msg.id] += 1
                    stored.update({shard_of("src", shards), shard_of(to, shards)})
                batch.append(msg)
                sent += 1
            # calls stay in flight while the actor is killed; Ray retries them on the restarted one
            if n == 1:
                pending.append(send("store_message_from_role", "src", batch[0]))
            else:
                pending.append(send("store_messages", [("src", m) for m in batch]))
            if len(pending) >= 8:
                wait(pending)
                pending = []
        wait(pending)

    def drain(role: str) -> int:
        if role.startswith("p"):
            got = call(env, "extract_message_by_role", role)  # the actor host adds the request id
            received[role].update(m.id for m in got)
            return len(got)
        mail = call(env, "read_mail", role)
        received[role].update(d.message.id for d in mail)
        if mail:
            call(env, "ack", role, mail[-1].seq)
        return len(mail)

    def consume(role: str) -> None:
        try:
            while not done.is_set():
                if drain(role) == 0:
                    time.sleep(0.01)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    kills: list[int] = []

    def killer() -> None:
        try:
            while not done.is_set() and len(kills) < 2:
                time.sleep(rng.uniform(0.5, 2.0))
                pid = call(actors[len(kills) % shards], "info")["pid"]  # with shards: each in turn
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=consume, args=(r,), daemon=True) for r in roles]
    threads.append(threading.Thread(target=killer, daemon=True))
    for t in threads:
        t.start()
    try:
        publish()
        # let every planned crash happen while the consumers still run (reads and acks in flight)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not errors and not _all_happened(plan, counts, kills):
            time.sleep(0.2)
    finally:
        done.set()
        for t in threads:
            t.join(timeout=120)
        threads_out.shutdown()
    assert not errors, errors
    assert _all_happened(plan, counts, kills), (plan, [c.read_text() for c in counts], kills)
    for role in roles:  # what is left after the last kill
        while drain(role):
            pass
    for role in roles:
        dup = {k: v for k, v in received[role].items() if v > 1}
        lost = set(expected[role]) - set(received[role])
        assert not dup, f"{role}: {len(dup)} messages delivered twice"
        assert not lost, f"{role}: {len(lost)} of {len(expected[role])} messages lost"
        assert received[role] == expected[role]
    for i, actor in enumerate(actors):
        info = call(actor, "info")
        # each shard holds each message that reached it once (TOTAL for one Environment)
        assert info["pid"] not in kills and info["next_seq"] == (TOTAL if shards == 1 else stored[i]) + 1
        assert info["open_messages"] == 0  # everything acknowledged: a restart reads nothing back
    for actor in actors:
        ray.kill(actor, no_restart=True)


def _all_happened(plan: dict[str, list[int]], counts_paths: list, kills: list[int]) -> bool:
    import json

    for path in counts_paths:  # every planned crash, on every shard
        try:
            counts = json.loads(path.read_text())
        except (OSError, ValueError):
            return False
        if not all(int(counts.get(m, 0)) >= max(ns) for m, ns in plan.items()):
            return False
    return len(kills) >= 2
