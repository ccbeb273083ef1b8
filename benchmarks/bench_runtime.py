"""Runtime benchmarks, one table, ratios from one run.

    python benchmarks/bench_runtime.py            # everything (1k, 5k, 10k agents)
    python benchmarks/bench_runtime.py --quick    # smaller counts, scale only up to 1k

(a) Environment deliveries/s on Ray vs raw async Ray actor calls carrying the same Message (>= 0.8x),
    with the idempotent calls as agents make them: publishes (message ids checked against the log),
    a reply with its acknowledgement (publish_and_ack), pulls keyed by the Ray task id
(b) a round of 8 agent actors on a fake model answering in 200 ms with 50 streamed tokens: wall
    time vs one model call (<= 1.15x), and the first frame's latency after the model's first token
    (<= 5 ms; the model stamps its first token, the driver stamps the frame's arrival); the 8
    actors are stepped by the PoolTaskCenter (as ``msagent run`` does) and by the plain
    TaskCenter, and the same 8 agents in one pool actor for comparison
(c) pooled agents with an instant model in one Environment: round time and RSS of the whole Ray
    session (driver, raylet, GCS, workers) (10k: <= 30 s, <= 8 GiB)
(d) Environment restart at 10k / 100k / 1M logged messages (acknowledged, 100 left unread): the
    log's reopen time in process (<= 1 s at 1M) and an actor's restart after SIGKILL until it
    answers again, next to an empty Environment actor's restart (Ray's own cost)
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ray  # noqa: E402

from environment import Environment  # noqa: E402
from msagent.llm import FunctionModel, ScriptedTurn, TextDelta  # noqa: E402
from msagent.llm.events import LLMEvent  # noqa: E402
from msagent.runtime import call, create_component  # noqa: E402
from msagent.runtime.pool import BatchEnvironment, PoolTaskCenter, create_pool  # noqa: E402
from msagent.runtime.testing_agents import EchoAgent  # noqa: E402
from msagent.schemas import Message  # noqa: E402
from task_center import TaskCenter  # noqa: E402

ROWS: list[tuple[str, str, str, str]] = []


def row(name: str, value: str, goal: str, ok: bool | None) -> None:
    ROWS.append((name, value, goal, "-" if ok is None else ("yes" if ok else "NO")))


# --- (a) deliveries ---------------------------------------------------------------------------------
@ray.remote(num_cpus=0)
class RawMailbox:
    """The baseline: an async actor that appends the same Message to a list."""

    def __init__(self) -> None:
        self.box: list[Message] = []

    async def deliver(self, sender: str, message: Message) -> int:
        self.box.append(message)
        return len(self.box)


def bench_deliveries(n: int) -> None:
    payload = "x" * 200
    raw = RawMailbox.remote()  # type: ignore[attr-defined]
    prefix = f"b{uuid.uuid4().hex[:6]}"
    env = create_component(BatchEnvironment, "env", remote=True, prefix_name=prefix, force_new=True)
    ray.get(env.register_roles.remote(["a", "b"]))
    ray.get(raw.deliver.remote("a", Message(role="a", content="warm", send_to="b")))

    def run(target: Any, method: str, extra: tuple = ()) -> float:
        msgs = [Message(role="a", content=payload, send_to="b") for _ in range(n)]
        t0 = time.perf_counter()
        ray.get([getattr(target, method).remote("a", m, *extra) for m in msgs])
        return n / (time.perf_counter() - t0)

    def best(target: Any, method: str, extra: tuple = ()) -> float:
        return max(run(target, method, extra) for _ in range(2))

    raw_rate = best(raw, "deliver")
    env_rate = best(env, "store_message_from_role")
    reply_rate = best(env, "publish_and_ack", (None,))
    raw_rate = max(raw_rate, best(raw, "deliver"))  # both sides measured twice, interleaved
    assert len(ray.get(env.read_mail.remote("b"))) == 4 * n
    ray.get(env.ack.remote("b", 4 * n))
    # pulls keyed by the task id (a retry gets the same mail): one message published, one pulled
    t0 = time.perf_counter()
    got = 0
    for _ in range(0, n, 50):
        ray.get(env.store_messages.remote([("a", Message(role="a", content=payload, send_to="b")) for _i in range(50)]))
        got += sum(len(x) for x in ray.get([env.extract_message_by_role.remote("b") for _ in range(50)]))
    pull_rate = n / (time.perf_counter() - t0)
    assert got == n, got
    for name, rate in [
        ("(a) publishes/s (store_message_from_role, id checked in the log)", env_rate),
        ("(a) replies/s (publish_and_ack: reply + ack, one commit)", reply_rate),
    ]:
        row(name, f"{rate:,.0f}/s", "", None)
    row("(a) raw async actor calls/s, same payload", f"{raw_rate:,.0f}/s", "", None)
    for name, rate in [("publishes", env_rate), ("replies", reply_rate)]:
        row(f"(a) ratio {name} / raw", f"{rate / raw_rate:.2f}x", ">= 0.8x", rate / raw_rate >= 0.8)
    row("(a) publish 50 + 50 keyed pulls, messages/s", f"{pull_rate:,.0f}/s", "", None)
    ray.kill(env, no_restart=True)
    ray.kill(raw, no_restart=True)


# --- (b) a round of 8 ---------------------------------------------------------------------------------
WORDS = " ".join(f"w{i}" for i in range(50))
FIRST_DELAY, CHUNK_DELAY = 0.004, 0.196 / 49


class StampedModel(FunctionModel):
    """Answers in ~200 ms with 50 tokens; the first token carries the time it was produced."""

    def __init__(self) -> None:
        super().__init__(
            lambda m, t: ScriptedTurn(text=WORDS, first_token_delay_s=FIRST_DELAY, chunk_delay_s=CHUNK_DELAY)
        )

    def _chat(self, *args: Any, **kwargs: Any) -> Iterator[LLMEvent]:
        first = True
        for event in super()._chat(*args, **kwargs):
            if first and isinstance(event, TextDelta):
                event, first = TextDelta(text=f"@{time.time():.6f}@{event.text}"), False
            yield event


def bench_round_of_8(repeats: int, pooled: bool, plain: bool = False) -> None:
    model = StampedModel()
    calls = []
    for _ in range(3):
        t0 = time.perf_counter()
        list(model.chat([Message(role="user", content="hi")], stream=True))
        calls.append(time.perf_counter() - t0)
    one_call = statistics.median(calls)
    center_cls = TaskCenter if plain else PoolTaskCenter
    tc = center_cls(remote=True, prefix_name=f"r{uuid.uuid4().hex[:6]}")
    if pooled:  # one actor, eight threads; frames travel in batches of up to 20 ms
        agents = create_pool(
            EchoAgent, [{"name": f"a{i}", "llm": StampedModel()} for i in range(8)],
            remote=True, prefix_name=tc.prefix_name, concurrency=8,
        )  # fmt: skip
    else:
        agents = [
            create_component(
                EchoAgent, name=f"a{i}", remote=True, prefix_name=tc.prefix_name, llm=StampedModel()
            )
            for i in range(8)
        ]
    tc.add_agents(agents)
    rounds, latencies = [], []
    for _ in range(repeats + 1):  # the first round warms up the actors
        tc.send_task_request("go")
        seen: set[str] = set()
        lat: list[float] = []
        t0 = time.perf_counter()
        for frame in tc.step():
            now = time.time()
            role, text = frame.split(": ", 1)
            if role not in seen and text.startswith("@"):
                seen.add(role)
                lat.append(now - float(text.split("@")[1]))
        rounds.append(time.perf_counter() - t0)
        latencies.append(lat)
        assert len(seen) == 8, f"only {sorted(seen)} spoke"
    round_s = statistics.median(rounds[1:])
    lat_all = sorted(x for lat in latencies[1:] for x in lat)
    first_ms = statistics.median(lat_all) * 1000
    ratio = round_s / one_call
    kind = "in one pool" if pooled else ("as 8 actors, TaskCenter" if plain else "as 8 actors")
    row(f"(b) one model call (200 ms, 50 tokens) [{kind}]", f"{one_call * 1000:.0f} ms", "", None)
    row(f"(b) round of 8 agents {kind}, wall time", f"{round_s * 1000:.0f} ms", "", None)
    row(f"(b) ratio round / one call [{kind}]", f"{ratio:.2f}x", "<= 1.15x", ratio <= 1.15)
    row(
        f"(b) first frame after first token [{kind}], median (p90)",
        f"{first_ms:.1f} ms ({lat_all[int(len(lat_all) * 0.9)] * 1000:.1f} ms)",
        "<= 5 ms",
        first_ms <= 5,
    )
    tc.close()
    if not pooled:
        for a in agents:
            ray.kill(a, no_restart=True)


# --- (c) scale -----------------------------------------------------------------------------------------
def _session_rss() -> int:
    """RSS (bytes) of this driver and every process below it (the local Ray cluster)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [os.getpid()]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
        todo += children.get(pid, [])
    return total


def bench_scale(counts: list[int], per_pool: int) -> None:
    llm = {"model_server": "scripted", "replies": ["ok"], "cycle": True}
    for n in counts:
        tc = PoolTaskCenter(remote=True, prefix_name=f"s{uuid.uuid4().hex[:6]}")
        t0 = time.perf_counter()
        agents: list[Any] = []
        for start in range(0, n, per_pool):
            agents += create_pool(
                EchoAgent, [{"name": f"w{i}", "llm": llm} for i in range(start, min(n, start + per_pool))],
                name=f"pool{start}", remote=True, prefix_name=tc.prefix_name,
            )  # fmt: skip
        sink = create_component(EchoAgent, name="sink", remote=True, prefix_name=tc.prefix_name, llm=llm)
        tc.add_agents([*agents, sink])
        setup = time.perf_counter() - t0
        tc.send_task_request("hello everyone", send_to=[a.role for a in agents])
        t0 = time.perf_counter()
        frames = sum(1 for _ in tc.step(allowed_roles=[a.role for a in agents], send_to="sink"))
        round_s = time.perf_counter() - t0
        rss = _session_rss()
        got = len(call(tc.env, "read_mail", "sink"))
        assert frames == n and got == n, f"{n} agents: {frames} frames, {got} replies"
        pools = (n + per_pool - 1) // per_pool
        goal = n == 10_000
        row(f"(c) {n:,} pooled agents ({pools} pools): setup", f"{setup:.1f} s", "", None)
        row(
            f"(c) {n:,} pooled agents: one round",
            f"{round_s:.1f} s",
            "<= 30 s" if goal else "",
            round_s <= 30 if goal else None,
        )
        row(
            f"(c) {n:,} pooled agents: RSS of the Ray session",
            f"{rss / 2**30:.2f} GiB",
            "<= 8 GiB" if goal else "",
            rss <= 8 * 2**30 if goal else None,
        )
        tc.close()
        ray.kill(sink, no_restart=True)


# --- (d) restart --------------------------------------------------------------------------------------
def build_log(path: str, n: int, unread: int = 100) -> None:
    """A log of ``n`` messages from 'a' to 'b', all acknowledged but the last ``unread``."""
    env = Environment(storage_path=path)
    env.register_roles(["a", "b"])
    batch = 5000
    for start in range(0, n - unread, batch):
        count = min(batch, n - unread - start)
        env.store_messages([("a", Message(role="a", content="x" * 100, send_to="b")) for _ in range(count)])
        env.ack("b", start + count)
    env.store_messages([("a", Message(role="a", content="unread", send_to="b")) for _ in range(unread)])
    env.close()


def actor_restart_seconds(env: Any, tries: int = 3) -> float:
    """SIGKILL the actor's process; seconds until a call is answered by the restarted one."""
    times = []
    for _ in range(tries):
        pid = ray.get(env.info.remote())["pid"]
        t0 = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        while ray.get(env.info.remote())["pid"] == pid:
            time.sleep(0.01)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_restart(counts: list[int]) -> None:
    folder = tempfile.mkdtemp(prefix="msagent-restart-")
    empty = create_component(Environment, "empty", remote=True, prefix_name=f"e{uuid.uuid4().hex[:6]}", force_new=True)
    base = actor_restart_seconds(empty)
    row("(d) empty Environment actor: restart after SIGKILL (Ray's cost)", f"{base:.2f} s", "", None)
    ray.kill(empty, no_restart=True)
    for n in counts:
        path = os.path.join(folder, f"log-{n}.sqlite3")
        t0 = time.perf_counter()
        build_log(path, n)
        built = time.perf_counter() - t0
        opens = []
        for _ in range(3):
            t0 = time.perf_counter()
            env = Environment(storage_path=path)
            opens.append(time.perf_counter() - t0)
            assert len(env.read_mail("b")) == 100 and env.last_seq() == n
            env.close()
        reopen = statistics.median(opens)
        actor = create_component(
            Environment, "env", remote=True, prefix_name=f"d{uuid.uuid4().hex[:6]}", storage_path=path, force_new=True
        )
        restart = actor_restart_seconds(actor)
        assert len(ray.get(actor.read_mail.remote("b"))) == 100
        ray.kill(actor, no_restart=True)
        size = os.path.getsize(path) / 2**20
        row(f"(d) {n:,} logged messages ({size:,.0f} MiB, built in {built:.0f} s): reopen the log",
            f"{reopen * 1000:,.0f} ms", "<= 1 s", reopen <= 1.0)  # fmt: skip
        row(f"(d) {n:,} logged messages: actor restart after SIGKILL", f"{restart:.2f} s",
            "", None)  # fmt: skip
        row(f"(d) {n:,} logged messages: restart minus the empty actor's", f"{restart - base:+.2f} s", "", None)
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small counts; scale up to 1k agents only")
    parser.add_argument(
        "--only", choices=["deliveries", "round", "scale", "restart"], action="append", help="run a subset"
    )
    parser.add_argument("--per-pool", type=int, default=2500, help="agents per pool actor")
    args = parser.parse_args()
    only = set(args.only or ["deliveries", "round", "scale", "restart"])
    os.environ.setdefault("MSAGENT_DATA_DIR", f"/tmp/msagent-bench-{os.getpid()}")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"MSAGENT_DATA_DIR": os.environ["MSAGENT_DATA_DIR"]}})  # fmt: skip
    try:
        if "deliveries" in only:
            bench_deliveries(500 if args.quick else 3000)
        if "round" in only:
            bench_round_of_8(3 if args.quick else 7, pooled=False)
            bench_round_of_8(3 if args.quick else 7, pooled=False, plain=True)
            bench_round_of_8(3 if args.quick else 7, pooled=True)
        if "scale" in only:
            bench_scale([1000] if args.quick else [1000, 5000, 10_000], args.per_pool)
        if "restart" in only:
            bench_restart([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    finally:
        ray.shutdown()
    width = max(len(r[0]) for r in ROWS)
    print(f"\n{'measure':<{width}} | {'value':>22} | {'goal':>9} | met")
    print(f"{'-' * width}-+-{'-' * 22}-+-{'-' * 9}-+----")
    for name, value, goal, ok in ROWS:
        print(f"{name:<{width}} | {value:>22} | {goal:>9} | {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
