"""/v1/chat/completions through Ray Serve vs a direct call to the fake model server and vs a bare
Serve no-op deployment, for each Serve ingress set-up, at 1, 8 and 64 concurrent, streaming or not.

    python benchmarks/bench_assistant.py            # all ingress modes (~2-3 min), one table
    python benchmarks/bench_assistant.py --modes haproxy --quick
    python benchmarks/bench_assistant.py --modes haproxy --profile /tmp/assistant.txt   # + py-spy

The load client is aiohttp: httpx's client needed ~0.5 ms of CPU per request and saturated its
core at 64 concurrent, so the 64 rows measured the client (``--client httpx`` gives the old one).

"overhead" = assistant p50 - bare Serve p50 - direct p50: what our app adds on top of Serve's own
hop and the model call (the goal is <= 3 ms). Each ingress mode runs in a fresh process with its
own local Ray cluster, because Serve reads these settings when it starts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy.serve_env import FAST_SERVE_ENV  # noqa: E402
from msagent.ports import free_port  # noqa: E402

MODES: dict[str, dict[str, str]] = {
    "proxy": {},  # Serve's default Python HTTP proxy
    "throughput": {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"},
    "haproxy": FAST_SERVE_ENV,  # what `msagent serve assistant` uses
}
CONCURRENCY = (1, 8, 64)
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


async def _load(url: str, stream: bool, concurrency: int, budget_s: float, n_max: int, client: str = "aiohttp") -> dict[str, float]:
    payload = {"model": "fake", "messages": [{"role": "user", "content": "海淀区天气"}], "tools": TOOLS, "stream": stream}
    if client == "httpx":
        return await _load_httpx(url, payload, concurrency, budget_s, n_max)
    import aiohttp

    data = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def one() -> int:
            async with session.post(url, data=data, headers=headers) as r:
                if stream:
                    async for _chunk in r.content.iter_any():
                        pass
                else:
                    await r.read()
                return r.status

        return await _drive(one, url, stream, concurrency, budget_s, n_max)


async def _load_httpx(url: str, payload: dict[str, Any], concurrency: int, budget_s: float, n_max: int) -> dict[str, float]:
    """The first version's client (httpx), for comparison with tables taken with it."""
    import httpx

    stream = payload["stream"]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one() -> int:
            if stream:
                async with client.stream("POST", url, json=payload) as r:
                    async for _chunk in r.aiter_raw():
                        pass
                    return r.status_code
            return (await client.post(url, json=payload)).status_code

        return await _drive(one, url, stream, concurrency, budget_s, n_max)


async def _drive(
    one: Callable[[], Awaitable[int]], url: str, stream: bool, concurrency: int, budget_s: float, n_max: int
) -> dict[str, float]:
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
    return _stats(latencies, time.perf_counter() - start, errors)


def _stats(latencies: list[float], elapsed: float, errors: int) -> dict[str, float]:
    latencies.sort()
    return {
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "rps": len(latencies) / elapsed,
        "n": len(latencies),
        "errors": errors,
    }


def _replica_pid(deployment: str) -> int:
    """The process of a Serve replica (its title is ``ray::ServeReplica:<app>:<deployment>``)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read().startswith(f"ray::ServeReplica:{deployment}:".encode()):
                    return int(entry)
        except OSError:
            continue
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
            # "func (path:line)" -> "func (path)": one entry per function
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


def run_mode(mode: str, quick: bool, client: str = "aiohttp", profile: str | None = None) -> dict[str, Any]:
    """In this (fresh) process: Ray, Serve, the fake server, both deployments, then the load."""
    import ray
    from ray import serve

    from deploy.assistant.config import AssistantConfig
    from deploy.assistant.serve_app import assistant_app

    fake_port = free_port()
    fake = multiprocessing.get_context("spawn").Process(target=_fake_server, args=(fake_port,), daemon=True)
    fake.start()
    ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False)
    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        noop = serve.deployment(serve.ingress(_noop_app)(), name="noop", ray_actor_options={"num_cpus": 0}, max_ongoing_requests=256)
        serve.run(noop.bind(), name="noop", route_prefix="/noop")
        config = AssistantConfig(model_server="openai", api_base=f"http://127.0.0.1:{fake_port}/v1", api_key="sk-bench", max_retries=0)
        serve.run(assistant_app(config), name="assistant", route_prefix="/assistant")
        targets = {
            "direct": f"http://127.0.0.1:{fake_port}/v1/chat/completions",
            "bare": f"http://127.0.0.1:{port}/noop/v1/chat/completions",
            "assistant": f"http://127.0.0.1:{port}/assistant/v1/chat/completions",
        }
        results: dict[str, Any] = {}
        budget = 1.0 if quick else 2.0
        spy = None
        if profile:
            # samples the assistant replica for the whole run (also while the other targets load:
            # an idle replica adds no samples)
            raw = f"{profile}.raw"
            cmd = ["py-spy", "record", "--pid", str(_replica_pid("assistant")), "--format", "raw", "-o", raw, "--rate", "250", "--nonblocking"]
            spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        for stream in (False, True):
            for c in CONCURRENCY:
                n_max = max(60, c * 12) if quick else max(150, c * 25)
                for name, url in targets.items():
                    results[f"{name}|{int(stream)}|{c}"] = asyncio.run(_load(url, stream, c, budget, n_max, client))
        if spy is not None and profile:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
            _py_spy_summary(f"{profile}.raw", profile)
        return results
    finally:
        serve.shutdown()
        ray.shutdown()
        fake.terminate()


def table(all_results: dict[str, dict[str, Any]]) -> str:
    head = (
        "| ingress | stream | conc | direct p50/p99 ms | bare Serve p50/p99 ms | assistant p50/p99 ms "
        "| overhead p50 ms | assistant req/s | bare req/s | direct req/s | assistant/bare req/s |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for mode, res in all_results.items():
        for stream in (0, 1):
            for c in CONCURRENCY:
                d, b, a = (res[f"{t}|{stream}|{c}"] for t in ("direct", "bare", "assistant"))
                over = a["p50"] - b["p50"] - d["p50"]
                errs = sum(x["errors"] for x in (d, b, a))
                lines.append(
                    f"| {mode} | {'yes' if stream else 'no'} | {c} | {d['p50']:.2f} / {d['p99']:.2f} "
                    f"| {b['p50']:.2f} / {b['p99']:.2f} | {a['p50']:.2f} / {a['p99']:.2f} | {over:+.2f} "
                    f"| {a['rps']:.0f} | {b['rps']:.0f} | {d['rps']:.0f} | {a['rps'] / b['rps']:.2f}"
                    + (f" ({errs} errors)" if errs else "")
                    + " |"
                )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated of {', '.join(MODES)}")
    parser.add_argument("--quick", action="store_true", help="shorter runs (1 s per cell)")
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp", help="the load client (default aiohttp)")
    parser.add_argument(
        "--profile", default=None, metavar="FILE",
        help="sample the assistant replica with py-spy during the run: FILE gets the top functions, FILE.raw the stacks "
        "(one mode at a time)",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(run_mode(args.child, args.quick, args.client, args.profile)), flush=True)
        return 0
    started = time.perf_counter()
    all_results: dict[str, dict[str, Any]] = {}
    for mode in [m for m in args.modes.split(",") if m]:
        if mode not in MODES:
            parser.error(f"unknown mode {mode!r}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_SERVE_")}
        env.update(MODES[mode])
        env.setdefault("RAY_SERVE_HAPROXY_STATS_PORT", str(free_port()))
        env.setdefault("RAY_SERVE_HAPROXY_METRICS_PORT", str(free_port()))
        cmd = [sys.executable, __file__, "--child", mode, "--client", args.client] + (["--quick"] if args.quick else [])
        if args.profile:
            cmd += ["--profile", os.path.abspath(args.profile if len(args.modes.split(",")) == 1 else f"{args.profile}.{mode}")]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(f"mode {mode} failed:\n{out.stderr[-3000:]}", file=sys.stderr)
            continue
        all_results[mode] = json.loads(line[len("RESULT ") :])
        print(f"# {mode}: done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(table(all_results))
    print(
        f"\n(total {time.perf_counter() - started:.0f} s; client {args.client}; "
        "overhead = assistant p50 - bare Serve p50 - direct p50)"
    )
    return 0 if all_results else 1


if __name__ == "__main__":
    sys.exit(main())
