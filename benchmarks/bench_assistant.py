"""/v1/chat/completions through Ray Serve vs the fake model server itself, a plain OpenAI-compatible
gateway in front of it, and a bare Serve no-op deployment: per Serve set-up, at 1, 8 and 64
concurrent, streaming or not. One table, taken in one run.

    python benchmarks/bench_assistant.py                         # one-cluster and haproxy (~3 min)
    python benchmarks/bench_assistant.py --modes one-cluster --quick
    python benchmarks/bench_assistant.py --baseline 7257fb1^     # + that revision's assistant, same cluster
    python benchmarks/bench_assistant.py --modes one-cluster --profile /tmp/a.txt   # + py-spy of the replica

Set-ups (each in a fresh process with its own local Ray cluster: Serve reads them when it starts):
- ``one-cluster``: what ``msagent serve all`` runs: the assistant and the tool manager in one Serve,
  the private HAProxy ingress of ``deploy/serve_env.py``.
- ``haproxy``: the assistant alone with HAProxy and the throughput settings only.
- ``proxy``: Serve's default Python proxy.

Rows: ``direct`` (the fake back end), ``gateway`` (a minimal pass-through proxy: aiohttp server and
client, one process, the floor for a Python gateway), ``bare`` (a Serve no-op, one replica),
``assistant`` (deployed as ``msagent serve`` deploys it: one replica per core, at most 4),
``assistant, 1 replica`` (on a machine with more than one core), and with ``--baseline REV`` that
revision's assistant as it deployed (one replica). The summary gives req/s at 64 concurrent as a
ratio to the baseline's, taken in the same rounds.
Besides latency and req/s (which on a shared 2-core machine say as much about the neighbours as
about us), each row has the **server CPU per request**: the CPU time the serving processes used
(the fake back end, the gateway, HAProxy and its Serve manager, the replica), divided by the
requests served. That is what bounds req/s when the cores are full, and it does not depend on
what else runs. "req/s per core" is 1000 / that.

The load client is aiohttp (httpx's client needed ~0.5 ms of CPU per request and saturated its core).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse, StreamingResponse  # noqa: E402

from msagent.ports import free_port  # noqa: E402

FAST = {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "1", "RAY_SERVE_ENABLE_HA_PROXY": "1"}
MODES = ("one-cluster", "haproxy", "proxy")
CONCURRENCY = (1, 8, 64)
TARGETS = ("direct", "gateway", "bare", "assistant", "assistant1")
LABELS = {"assistant1": "assistant, 1 replica"}
BASELINE_ENV = "MSAGENT_BENCH_BASELINE"  # a checkout of another revision: its assistant runs beside ours
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "amap_weather",
            "description": "amap weather tool",
            "parameters": [{"name": "location", "type": "string", "required": True}],
        },
    }
]
CLK = os.sysconf("SC_CLK_TCK")


def _fake_server(port: int) -> None:
    """A fast OpenAI-compatible fake model server (uvicorn), in its own process.

    (``msagent.testing.FakeOpenAIServer`` is a stdlib threading server: fine for tests, but its
    per-request cost would hide the overhead this benchmark measures.)"""
    import uvicorn
    app = FastAPI()
    call = {"id": "call_0", "type": "function", "function": {"name": "amap_weather", "arguments": '{"location": "海淀区"}'}}
    usage = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    body = {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": "fake",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Checking.", "tool_calls": [call]}, "finish_reason": "tool_calls"}],
        "usage": usage,
    }
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": "fake"}

    def frame(delta: dict, finish: str | None = None) -> bytes:
        return f"data: {json.dumps({**base, 'choices': [{'index': 0, 'delta': delta, 'finish_reason': finish}]})}\n\n".encode()

    frames = [
        frame({"role": "assistant", "content": ""}),
        frame({"content": "Checking."}),
        frame({"tool_calls": [{"index": 0, "id": "call_0", "type": "function", "function": {"name": "amap_weather", "arguments": ""}}]}),
        frame({"tool_calls": [{"index": 0, "function": {"arguments": '{"location": '}}]}),
        frame({"tool_calls": [{"index": 0, "function": {"arguments": '"海淀区"}'}}]}),
        frame({}, "tool_calls"),
        b"data: [DONE]\n\n",
    ]

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        data = await request.json()
        if data.get("stream"):

            async def gen() -> Any:
                for f in frames:
                    yield f

            return StreamingResponse(gen(), media_type="text/event-stream")
        return JSONResponse(body)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def _gateway(port: int, upstream: str) -> None:
    """A plain OpenAI-compatible gateway: every request passed on as it came, the answer passed back
    (status, content type, body or stream). What a minimal Python proxy costs, nothing more."""
    from aiohttp import ClientSession, TCPConnector, web

    async def handle(request: web.Request) -> web.StreamResponse:
        session: ClientSession = request.app["session"]
        body = await request.read()
        headers = {"Content-Type": "application/json", "Authorization": request.headers.get("Authorization", "Bearer x")}
        async with session.post(f"{upstream}{request.path_qs}", data=body, headers=headers) as up:
            if up.content_type != "text/event-stream":
                return web.Response(body=await up.read(), status=up.status, content_type=up.content_type)
            out = web.StreamResponse(status=up.status, headers={"Content-Type": "text/event-stream"})
            await out.prepare(request)
            async for chunk in up.content.iter_any():
                await out.write(chunk)
            await out.write_eof()
            return out

    async def start(app: web.Application) -> None:
        app["session"] = ClientSession(connector=TCPConnector(limit=256))

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _noop_app() -> Any:
    """The bare deployment: the same route, a fixed answer, no model and no validation."""
    app = FastAPI()
    body = {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}
    frames = [b'data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}\n\n'] * 4 + [b"data: [DONE]\n\n"]

    # (this builder is pickled by value into the replica, where string annotations cannot be
    # resolved: hence the annotation set from the live class)
    async def noop(request):  # type: ignore[no-untyped-def]
        data = await request.json()
        if data.get("stream"):

            async def gen() -> Any:
                for f in frames:
                    yield f

            return StreamingResponse(gen(), media_type="text/event-stream")
        return JSONResponse(body)

    noop.__annotations__ = {"request": Request}
    app.post("/v1/chat/completions")(noop)
    return app


# --- load ----------------------------------------------------------------------------------------
async def _load(url: str, stream: bool, concurrency: int, budget_s: float, n_max: int) -> dict[str, Any]:
    import aiohttp

    payload = {"model": "fake", "messages": [{"role": "user", "content": "海淀区天气"}], "tools": TOOLS, "stream": stream}
    data = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def one() -> int:
            try:
                async with session.post(url, data=data, headers=headers) as r:
                    if stream:
                        async for _chunk in r.content.iter_any():
                            pass
                    else:
                        await r.read()
                    return r.status
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return 0  # counted as an error (a dropped connection, a timeout), the run goes on

        return await _drive(one, url, stream, concurrency, budget_s, n_max)


async def _drive(
    one: Callable[[], Awaitable[int]], url: str, stream: bool, concurrency: int, budget_s: float, n_max: int
) -> dict[str, Any]:
    """``concurrency`` workers call ``one`` (a request, returning its status) until ``n_max``
    requests or ``budget_s`` seconds, after a warm-up of connections and first-call costs."""
    for _ in range(min(concurrency, 8)):
        await one()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + budget_s
    counter = iter(range(n_max))

    async def worker() -> None:
        nonlocal errors
        for _ in counter:
            if time.perf_counter() > deadline:
                return
            t = time.perf_counter()
            status = await one()
            latencies.append(time.perf_counter() - t)
            if status != 200:
                errors += 1
                if errors == 1:
                    print(f"error from {url}: {status} stream={stream}", file=sys.stderr)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "rps": len(latencies) / elapsed,
        "n": len(latencies),
        "errors": errors,
    }


# --- processes and their CPU ----------------------------------------------------------------------
def _processes() -> dict[int, str]:
    """This process's descendants: pid -> command line."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    children.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    out: dict[int, str] = {}
    todo = list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                out[pid] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            pass
        todo += children.get(pid, [])
    return out


def _cpu_s(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            continue
    return total / CLK


def _serving_pids(deployment: str, ingress: bool = True) -> list[int]:
    """The processes a request to ``deployment`` passes through: the ingress (HAProxy and its Serve
    manager, or the Python proxy) and the deployment's replicas."""
    found = []
    for pid, cmd in _processes().items():
        if cmd.startswith(f"ray::ServeReplica:{deployment}:") or (ingress and (
            cmd.startswith(("ray::HAProxyManager", "ray::ProxyActor")) or (" -f " in cmd and "haproxy" in cmd.split(" ", 1)[0])
        )):
            found.append(pid)
    return found


def _relays(url: str) -> bool:
    """Whether the assistant at ``url`` relays the back end's answer as given (this revision does;
    the last stop's rebuilt it, with an id of its own): tells which code a replica runs."""
    import httpx

    body = {"model": "fake", "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(url, json=body, timeout=30).json()["id"] == "chatcmpl-fake"  # type: ignore[no-any-return]


def _replica_pid(deployment: str) -> int:
    for pid, cmd in _processes().items():
        if cmd.startswith(f"ray::ServeReplica:{deployment}:"):
            return pid
    raise RuntimeError(f"no replica process for {deployment!r}")


def _py_spy_summary(raw_path: str, out_path: str, top: int = 60) -> None:
    """py-spy's collapsed stacks -> the functions with the largest share of samples (inclusive)."""
    import collections

    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    with open(raw_path) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            n = int(count)
            total += n
            frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    with open(out_path, "w") as f:
        f.write(f"assistant replica, {total} samples\n\n-- inclusive --\n")
        for frame, n in inclusive.most_common(top):
            f.write(f"{100 * n / max(total, 1):5.1f}%  {frame}\n")
        f.write("\n-- own --\n")
        for frame, n in own.most_common(top):
            f.write(f"{100 * n / max(total, 1):5.1f}%  {frame}\n")


def _deploy(mode: str, fake_url: str) -> None:
    """The assistant (and for one-cluster the tool manager beside it, as `msagent serve all`); with a
    baseline checkout, that revision's assistant too, in the same cluster: its replica imports the
    checkout's code (PYTHONPATH), so both answer under the same load and the same ingress."""
    from ray import serve

    from deploy.assistant.serve_app import assistant_app, default_replicas

    config = {"model_server": "openai", "api_base": fake_url, "api_key": "sk-bench", "max_retries": 0}
    # as `msagent serve` deploys it (one replica per core, at most 4), and with one replica
    serve.run(assistant_app(config, num_replicas=default_replicas()), name="assistant", route_prefix="/assistant")
    if default_replicas() > 1:
        serve.run(assistant_app(config, num_replicas=1), name="assistant1", route_prefix="/assistant1")
    baseline = os.environ.get(BASELINE_ENV)
    if baseline:
        options = {"ray_actor_options": {"num_cpus": 0, "runtime_env": {"env_vars": {"PYTHONPATH": baseline}}}}
        serve.run(assistant_app(config, **options), name="baseline", route_prefix="/baseline")
    if mode == "one-cluster":
        from deploy.tool_manager.config import ManagerConfig
        from deploy.tool_manager.serve_app import tool_manager_app

        manager = ManagerConfig(manager_id=f"bench{os.getpid()}", pool_size=0, token="bench-token")
        serve.run(tool_manager_app(manager), name="tool_manager", route_prefix="/tool_manager")


def _merge(results: dict[str, Any], key: str, row: dict[str, Any]) -> None:
    """Rows of several rounds: sums of requests and CPU, the median round's latency and rate."""
    rounds = results.setdefault(key, {"rounds": []})["rounds"]
    rounds.append(row)
    merged = results[key]
    served, cpu = sum(r["served"] for r in rounds), sum(r["cpu_s"] for r in rounds)
    middle = sorted(rounds, key=lambda r: r["rps"])[len(rounds) // 2]
    merged.update({k: middle[k] for k in ("p50", "p99", "rps")})
    merged.update({"n": sum(r["n"] for r in rounds), "errors": sum(r["errors"] for r in rounds),
                   "cpu_ms": cpu * 1000 / max(served, 1),
                   "client_cpu_ms": sum(r["client_s"] for r in rounds) * 1000 / max(sum(r["n"] for r in rounds), 1)})


def run_mode(mode: str, quick: bool, profile: str | None = None, rounds: int = 1) -> dict[str, Any]:
    """In this (fresh) process: Ray, Serve, the fake server, the gateway, the deployments, the load."""
    import ray
    from ray import serve

    spawn = multiprocessing.get_context("spawn")
    fake_port, gateway_port = free_port(), free_port()
    fake = spawn.Process(target=_fake_server, args=(fake_port,), daemon=True)
    fake.start()
    gateway = spawn.Process(target=_gateway, args=(gateway_port, f"http://127.0.0.1:{fake_port}"), daemon=True)
    gateway.start()
    ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False)
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        noop: Any = serve.deployment(serve.ingress(_noop_app)(), name="noop", ray_actor_options={"num_cpus": 0}, max_ongoing_requests=256)
        serve.run(noop.bind(), name="noop", route_prefix="/noop")
        _deploy(mode, f"http://127.0.0.1:{fake_port}/v1")
        targets = {
            "direct": f"http://127.0.0.1:{fake_port}/v1/chat/completions",
            "gateway": f"http://127.0.0.1:{gateway_port}/v1/chat/completions",
            "bare": f"http://127.0.0.1:{port}/noop/v1/chat/completions",
            "assistant": f"http://127.0.0.1:{port}/assistant/v1/chat/completions",
        }
        assert fake.pid is not None and gateway.pid is not None
        fake_pid, gateway_pid = fake.pid, gateway.pid
        if _serving_pids("assistant1", ingress=False):
            targets["assistant1"] = f"http://127.0.0.1:{port}/assistant1/v1/chat/completions"
        if os.environ.get(BASELINE_ENV):
            targets["baseline"] = f"http://127.0.0.1:{port}/baseline/v1/chat/completions"
            if _relays(targets["baseline"]) or not _relays(targets["assistant"]):
                raise RuntimeError("the baseline replica does not run the baseline's code")

        def pids(name: str) -> list[int]:
            # found again for every row: Serve restarts HAProxy (a new PID) when deployments change
            if name == "direct":
                return [fake_pid]
            if name == "gateway":
                return [gateway_pid, fake_pid]
            return _serving_pids("noop" if name == "bare" else name) + ([] if name == "bare" else [fake_pid])

        results: dict[str, Any] = {}
        budget = 1.0 if quick else 2.0
        spy = None
        if profile:
            raw = f"{profile}.raw"
            cmd = ["py-spy", "record", "--pid", str(_replica_pid("assistant")), "--format", "raw", "-o", raw, "--rate", "250", "--nonblocking"]
            spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        for stream in (False, True):
            for c in CONCURRENCY:
                n_max = max(60, c * 12) if quick else max(150, c * 25)
                # at 64 concurrent the targets take turns, `rounds` times: CPU per request is summed over
                # the rounds, so the neighbours' load falls on every row alike
                for _ in range(rounds if c == 64 else 1):
                    for name, url in targets.items():
                        serving = pids(name)
                        before, client_before = _cpu_s(serving), time.process_time()
                        row = asyncio.run(_load(url, stream, c, budget, n_max))
                        row["cpu_s"] = _cpu_s(serving) - before
                        row["client_s"] = time.process_time() - client_before
                        row["served"] = row["n"] + min(c, 8)
                        _merge(results, f"{name}|{int(stream)}|{c}", row)
        if spy is not None and profile:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
            _py_spy_summary(f"{profile}.raw", profile)
        return results
    finally:
        serve.shutdown()
        ray.shutdown()
        fake.terminate()
        gateway.terminate()


def _mode_env(mode: str) -> tuple[dict[str, str], Any]:
    """The environment a mode's child starts Ray with (and what to clean up after it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_SERVE_", "SERVE_"))}
    if mode == "one-cluster":
        from deploy.serve_env import ServeEnv

        serve_env = ServeEnv.create()  # exactly what `msagent serve all` starts Ray with
        env.update(serve_env.env)
        return env, serve_env
    if mode == "haproxy":
        env.update(FAST)
        env.setdefault("RAY_SERVE_HAPROXY_STATS_PORT", str(free_port()))
        env.setdefault("RAY_SERVE_HAPROXY_METRICS_PORT", str(free_port()))
    return env, None


def table(all_results: dict[str, dict[str, Any]]) -> str:
    head = (
        "| set-up | stream | conc | row | p50 / p99 ms | req/s | server CPU ms/req | req/s per core | x direct req/s |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for setup, res in all_results.items():
        for stream in (0, 1):
            for c in CONCURRENCY:
                direct = res[f"direct|{stream}|{c}"]
                for name in (*TARGETS, "baseline"):
                    r = res.get(f"{name}|{stream}|{c}")
                    if r is None:
                        continue
                    per_core = 1000 / r["cpu_ms"] if r["cpu_ms"] > 0 else float("inf")
                    lines.append(
                        f"| {setup} | {'yes' if stream else 'no'} | {c} | {LABELS.get(name, name)} | {r['p50']:.2f} / {r['p99']:.2f} "
                        f"| {r['rps']:.0f} | {r['cpu_ms']:.3f} | {per_core:.0f} | {r['rps'] / direct['rps']:.2f}"
                        + (f" ({r['errors']} errors)" if r["errors"] else "")
                        + " |"
                    )
    return "\n".join(lines)


def summary(all_results: dict[str, dict[str, Any]], baseline: str | None) -> str:
    """At 64 concurrent: the assistant against the gateway and the baseline revision's assistant:
    req/s and its ratio to the baseline's, taken in the same rounds; and what bounds req/s on full
    cores, CPU per request (server side, and with the client's), as a ratio too."""
    out = ["| set-up | stream | row | req/s | req/s vs baseline | server CPU ms/req | + client CPU ms/req "
           "| CPU-bound req/s vs baseline |", "|---|---|---|---|---|---|---|---|"]
    for setup, res in all_results.items():
        for stream in (0, 1):
            base = res.get(f"baseline|{stream}|64")
            for name in ("gateway", "bare", "baseline", "assistant", "assistant1"):
                r = res.get(f"{name}|{stream}|64")
                if r is None:
                    continue
                total = r["cpu_ms"] + r["client_cpu_ms"]
                vs = f"{(base['cpu_ms'] + base['client_cpu_ms']) / total:.2f}x" if base else "-"
                rate = f"{r['rps'] / base['rps']:.2f}x" if base else "-"
                label = f"baseline ({baseline})" if name == "baseline" else LABELS.get(name, name)
                out.append(f"| {setup} | {'yes' if stream else 'no'} | {label} | {r['rps']:.0f} | {rate} | {r['cpu_ms']:.3f} "
                           f"| {total:.3f} | {vs} |")
    return "\n".join(out)


def _worktree(rev: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="msagent-bench-"))
    subprocess.run(["git", "-C", str(Path(__file__).resolve().parents[1]), "worktree", "add", "--detach", str(path), rev],
                   check=True, capture_output=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="one-cluster,haproxy", help=f"comma-separated of {', '.join(MODES)}")
    parser.add_argument("--quick", action="store_true", help="shorter runs (1 s per cell)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of the targets at 64 concurrent (default 3)")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also serve this git revision's assistant in the same cluster (e.g. the last stop's)")
    parser.add_argument(
        "--profile", default=None, metavar="FILE",
        help="sample the assistant replica with py-spy during the run: FILE gets the top functions, FILE.raw the stacks",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(run_mode(args.child, args.quick, args.profile, args.rounds)), flush=True)
        return 0
    started = time.perf_counter()
    tree = _worktree(args.baseline) if args.baseline else None
    all_results: dict[str, dict[str, Any]] = {}
    modes = [m for m in args.modes.split(",") if m]
    try:
        for mode in modes:
            if mode not in MODES:
                parser.error(f"unknown set-up {mode!r}")
            env, serve_env = _mode_env(mode)
            if tree is not None:
                env[BASELINE_ENV] = str(tree)
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--rounds", str(args.rounds)]
            cmd += ["--quick"] if args.quick else []
            if args.profile:
                cmd += ["--profile", os.path.abspath(f"{args.profile}.{mode}" if len(modes) > 1 else args.profile)]
            try:
                # from a neutral folder: Ray puts the driver's folder first on its workers' sys.path,
                # which would hide the baseline checkout from the baseline's replica
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800, cwd=tempfile.gettempdir())
            finally:
                if serve_env is not None:
                    serve_env.remove()
            line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if line is None:
                print(f"set-up {mode} failed:\n{out.stderr[-3000:]}", file=sys.stderr)
                continue
            all_results[mode] = json.loads(line[len("RESULT "):])
            print(f"# {mode}: done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
    finally:
        if tree is not None:
            subprocess.run(["git", "-C", str(Path(__file__).resolve().parents[1]), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)
            shutil.rmtree(tree, ignore_errors=True)
    print(table(all_results))
    print("\nAt 64 concurrent:\n" + summary(all_results, args.baseline))
    print(f"\n(total {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}; server CPU = CPU time of "
          "the processes a request passes through, per request; client: aiohttp in the benchmark's process)")
    return 0 if all_results else 1


if __name__ == "__main__":
    sys.exit(main())
