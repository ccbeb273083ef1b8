"""AgentScope-style benchmarks, one table, ratios from one run.

    python benchmarks/bench_agentscope.py            # N = 8, 64, 512
    python benchmarks/bench_agentscope.py --quick    # N = 8, 64

(a) a msghub round of N DialogAgents on an instant model: every agent speaks once, having heard
    everyone before it, and leaves the hub having heard everyone after it (N(N-1) deliveries).
    Three ways, same data flow:
    - local: the agents in this process, the hub on a local Environment (durable SQLite log);
    - distributed: every agent ``to_dist()`` into AgentServer actors (one actor per agent up to 8,
      then 8 shared servers: an actor per agent costs ~50 MiB), the hub on an Environment actor;
    - raw Ray: the same flow hand-written on bare async actors: a list actor as the log, each
      speaker awaits the previous reply, reads what is new, appends its reply; at the end each
      agent reads the rest. No durability, no routing, no validation.
    The table gives each time and the ratios distributed/raw and distributed/local.
(b) eight independent distributed agents on a model answering in 200 ms, called in one loop:
    wall time vs one call (goal < 2x).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ray  # noqa: E402

import msagent  # noqa: E402
from msagent import msghub  # noqa: E402
from msagent.agents import DialogAgent  # noqa: E402
from msagent.agentscope import session  # noqa: E402
from msagent.agentscope.distributed import launch_server  # noqa: E402
from msagent.message import Msg  # noqa: E402

CONFIGS = [
    {"config_name": "instant", "model_type": "msagent",
     "llm": {"model_server": "scripted", "replies": ["ok"], "cycle": True}},
    {"config_name": "slow", "model_type": "msagent",
     "llm": {"model_server": "scripted", "replies": [{"text": "ok", "first_token_delay_s": 0.2}], "cycle": True}},
]  # fmt: skip
ROWS: list[tuple[str, str, str]] = []


def row(name: str, value: str, note: str = "") -> None:
    ROWS.append((name, value, note))
    print(f"  {name}: {value} {note}", flush=True)


# --- (a) a hub round ----------------------------------------------------------------------------
def hub_round(agents: list[Any]) -> None:
    with msghub(agents, announcement=Msg("Host", "Round starts.", role="system")):
        for agent in agents:
            agent()


def local_round(n: int) -> float:
    agents = [DialogAgent(f"l{n}_{i}", sys_prompt="Speak.", model_config_name="instant") for i in range(n)]
    hub_round(agents[:2])  # warm: the session's Environment, the model
    started = time.perf_counter()
    hub_round(agents)
    return time.perf_counter() - started


def dist_agents(n: int) -> list[Any]:
    if n <= 8:
        agents = [DialogAgent(f"d{n}_{i}", sys_prompt="Speak.", model_config_name="instant").to_dist() for i in range(n)]
    else:
        servers = [launch_server(f"bench{n}_{s}", threads=16) for s in range(8)]
        agents = [DialogAgent(f"d{n}_{i}", sys_prompt="Speak.", model_config_name="instant",
                              to_dist={"server": servers[i % 8]}) for i in range(n)]  # fmt: skip
    for agent in agents:
        agent.ready()
    return agents


def dist_round(agents: list[Any]) -> float:
    for reply in [a(Msg("user", "warm up", role="user")) for a in agents]:
        _ = reply.content
    hub_round(agents[:2])  # the hub's Environment actor is started
    ray.get([a._submit("memory.size") for a in agents[:2]])
    started = time.perf_counter()
    hub_round(agents)
    # the hub hands out the last mail as it closes, without waiting: wait until every agent has it
    ray.get([a._submit("memory.size") for a in agents])
    return time.perf_counter() - started


@ray.remote(num_cpus=0)
class RawLog:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    async def append(self, item: dict[str, Any]) -> int:
        self.items.append(item)
        return len(self.items)

    async def read(self, since: int) -> list[dict[str, Any]]:
        return self.items[since:]


@ray.remote(num_cpus=0, max_concurrency=1000)
class RawServer:
    """Bare agents: a list of what each heard, an instant reply."""

    def __init__(self) -> None:
        self.heard: dict[str, list[dict[str, Any]]] = {}
        self.cursor: dict[str, int] = {}

    async def speak(self, name: str, log: Any, after: list[Any]) -> dict[str, Any]:
        for ref in after:
            await ref
        await self.take(name, log)
        reply = {"name": name, "content": "ok"}
        self.heard[name].append(reply)
        self.cursor[name] = await log.append.remote(reply)
        return reply

    async def take(self, name: str, log: Any) -> int:
        new = await log.read.remote(self.cursor.get(name, 0))
        self.heard.setdefault(name, []).extend(new)
        self.cursor[name] = self.cursor.get(name, 0) + len(new)
        return len(self.heard[name])


def raw_round(n: int) -> float:
    servers = [RawServer.remote() for _ in range(min(n, 8))]  # type: ignore[attr-defined]
    names = [f"r{i}" for i in range(n)]
    home = {name: servers[i % len(servers)] for i, name in enumerate(names)}

    def one_round(log: Any, members: list[str]) -> None:
        ray.get(log.append.remote({"name": "Host", "content": "Round starts."}))
        tail: list[Any] = []
        for name in members:
            tail = [home[name].speak.remote(name, log, tail)]
        ray.get(tail)
        ray.get([home[name].take.remote(name, log) for name in members])

    one_round(RawLog.remote(), names[: len(servers)])  # type: ignore[attr-defined]  # every actor started
    log = RawLog.remote()  # type: ignore[attr-defined]
    ray.get(log.read.remote(0))
    started = time.perf_counter()
    one_round(log, names)
    took = time.perf_counter() - started
    for actor in [*servers, log]:
        ray.kill(actor)
    return took


def bench_round(n: int) -> None:
    print(f"(a) N = {n}", flush=True)
    local = local_round(n)
    raw = raw_round(n)
    agents = dist_agents(n)
    dist = dist_round(agents)
    per = f"({dist / n * 1000:.1f} ms/agent)"
    row(f"(a) N={n:<4} local hub round", f"{local:.3f} s", f"({local / n * 1000:.1f} ms/agent)")
    row(f"(a) N={n:<4} raw Ray round", f"{raw:.3f} s", f"({raw / n * 1000:.1f} ms/agent)")
    row(f"(a) N={n:<4} distributed hub round", f"{dist:.3f} s", per)
    row(f"(a) N={n:<4} distributed / raw Ray", f"{dist / raw:.2f}x")
    row(f"(a) N={n:<4} distributed / local", f"{dist / local:.2f}x")
    session.shutdown()  # stops this size's actors
    msagent.init(model_configs=CONFIGS, name="bench", logger_level="WARNING")


# --- (b) independent agents -----------------------------------------------------------------------
def bench_parallel() -> None:
    agents = [DialogAgent(f"p{i}", model_config_name="slow").to_dist() for i in range(8)]
    for reply in [a(Msg("user", "warm up", role="user")) for a in agents]:
        _ = reply.content

    def one() -> float:
        started = time.perf_counter()
        _ = agents[0](Msg("user", "q", role="user")).content
        return time.perf_counter() - started

    def eight() -> float:
        started = time.perf_counter()
        replies = [a(Msg("user", "q", role="user")) for a in agents]
        _ = [r.content for r in replies]
        return time.perf_counter() - started

    single = min(one() for _ in range(3))
    together = min(eight() for _ in range(3))
    row("(b) one call, 200 ms model", f"{single * 1000:.0f} ms")
    row("(b) 8 independent distributed agents, one loop", f"{together * 1000:.0f} ms",
        f"= {together / single:.2f}x one call (goal < 2x)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 8 and 64 only")
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="bench-agentscope-")
    os.environ["MSAGENT_DATA_DIR"] = data
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"MSAGENT_DATA_DIR": data}})  # fmt: skip
    try:
        msagent.init(model_configs=CONFIGS, name="bench", logger_level="WARNING")
        bench_parallel()
        session.shutdown()
        msagent.init(model_configs=CONFIGS, name="bench", logger_level="WARNING")
        for n in (8, 64) if args.quick else (8, 64, 512):
            bench_round(n)
    finally:
        session.shutdown()
        ray.shutdown()
    width = max(len(r[0]) for r in ROWS)
    print("\n" + "what".ljust(width) + " | value      | note")
    print("-" * width + "-+------------+-----")
    for name, value, note in ROWS:
        print(f"{name.ljust(width)} | {value:<10} | {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
