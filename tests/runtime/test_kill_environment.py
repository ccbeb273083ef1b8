"""SIGKILL of the Environment actor's worker process while 10,000 messages are published, pulled,
read and acknowledged: at random moments from outside, and from inside right after a randomly
chosen publish / read / pull / ack has committed but before it answered (``CrashingEnvironment``).
Every role gets each of its messages exactly once."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections import Counter

import pytest

from msagent.runtime import call, create_component
from msagent.runtime.testing_env import CrashingEnvironment
from msagent.schemas import Message

ROLES = ["p0", "p1", "r0", "r1"]  # p*: drained by pull (read + ack in one call); r*: read, then ack
TOTAL = 10_000


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkill_at_random_points_loses_and_duplicates_nothing(ray_cluster, tmp_path):

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
    counts = tmp_path / "calls.json"
    env = create_component(
        CrashingEnvironment, "env", remote=True, prefix_name=prefix, force_new=True,
        crash_plan=plan, plan_path=str(counts),
    )  # fmt: skip
    call(env, "register_roles", ROLES)
    expected: dict[str, Counter[str]] = {r: Counter() for r in ROLES}
    received: dict[str, Counter[str]] = {r: Counter() for r in ROLES}
    done = threading.Event()
    errors: list[BaseException] = []

    def publish() -> None:
        sent = 0
        pending: list = []
        while sent < TOTAL:
            n = min(TOTAL - sent, rng.choice([1, 1, 20]))
            batch = []
            for _ in range(n):
                if sent % 25 == 0:  # a broadcast reaches every role
                    msg = Message(role="src", content=f"b{sent}", sent_from="src")
                    for r in ROLES:
                        expected[r][msg.id] += 1
                else:
                    to = ROLES[sent % len(ROLES)]
                    msg = Message(role="src", content=f"m{sent}", sent_from="src", send_to=to)
                    expected[to][msg.id] += 1
                batch.append(msg)
                sent += 1
            # calls stay in flight while the actor is killed; Ray retries them on the restarted one
            if n == 1:
                pending.append(env.store_message_from_role.remote("src", batch[0]))
            else:
                pending.append(env.store_messages.remote([("src", m) for m in batch]))
            if len(pending) >= 8:
                ray.get(pending)
                pending = []
        ray.get(pending)

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
                pid = call(env, "info")["pid"]
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=consume, args=(r,), daemon=True) for r in ROLES]
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
    assert not errors, errors
    assert _all_happened(plan, counts, kills), (plan, counts.read_text(), kills)
    for role in ROLES:  # what is left after the last kill
        while drain(role):
            pass
    for role in ROLES:
        dup = {k: v for k, v in received[role].items() if v > 1}
        lost = set(expected[role]) - set(received[role])
        assert not dup, f"{role}: {len(dup)} messages delivered twice"
        assert not lost, f"{role}: {len(lost)} of {len(expected[role])} messages lost"
        assert received[role] == expected[role]
    info = call(env, "info")
    assert info["pid"] not in kills and info["next_seq"] == TOTAL + 1
    assert info["open_messages"] == 0  # everything acknowledged: a restart reads nothing back
    ray.kill(env, no_restart=True)


def _all_happened(plan: dict[str, list[int]], counts_path, kills: list[int]) -> bool:
    import json

    try:
        counts = json.loads(counts_path.read_text())
    except (OSError, ValueError):
        return False
    return len(kills) >= 2 and all(int(counts.get(m, 0)) >= max(ns) for m, ns in plan.items())
