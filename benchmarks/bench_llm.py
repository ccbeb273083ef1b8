"""Our LLM layer vs the raw SDK underneath, against one fake model server per wire, in one run.

    python benchmarks/bench_llm.py            # ~300 calls per cell, well under a minute
    python benchmarks/bench_llm.py --n 100

For each back-end (OpenAI-compatible via ``openai``, DashScope via ``dashscope``) it times:
non-streaming call latency, streaming time to the first text chunk, and streaming total time.
``qwen-style``: Qwen-Agent's ``chat(messages=[dict], functions=[...])`` on a URL server (the
✿FUNCTION✿ prompt built, the reply parsed into growing message-dict lists) vs the raw SDK.
Raw and ours alternate call by call so machine noise hits both alike. ratio = ours / raw.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dashscope  # noqa: E402
import openai  # noqa: E402

from msagent.llm.events import TextDelta  # noqa: E402
from msagent.llm.registry import get_chat_model  # noqa: E402
from msagent.schemas import Message  # noqa: E402
from msagent.testing import FakeDashScopeServer, FakeOpenAIServer, FakeReply  # noqa: E402

REPLY = FakeReply(text="The quick brown fox jumps over the lazy dog " * 3)
MESSAGES = [
    {"role": "system", "content": "You are brief."},
    {"role": "user", "content": "Tell me about foxes."},
]
OUR_MESSAGES = [Message(role=m["role"], content=m["content"]) for m in MESSAGES]


def first_then_drain(
    open_stream: Callable[[], Iterator[Any]], is_text: Callable[[Any], bool]
) -> tuple[float, float]:
    """(seconds to the first text piece, seconds to the end) of one stream, request included."""
    start = time.perf_counter()
    first = 0.0
    for item in open_stream():
        if not first and is_text(item):
            first = time.perf_counter() - start
    return first, time.perf_counter() - start


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def openai_cells(base_url: str) -> dict[str, dict[str, Callable[[], tuple[float, ...]]]]:
    client = openai.OpenAI(base_url=base_url, api_key="x", max_retries=0)
    model = get_chat_model({"model": "m", "model_server": "openai", "api_base": base_url, "api_key": "x"})

    def raw_stream() -> Iterator[Any]:
        return iter(
            client.chat.completions.create(
                model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        )  # type: ignore[arg-type]

    def raw_text(chunk: Any) -> bool:
        return bool(chunk.choices and chunk.choices[0].delta.content)

    return {
        "raw": {
            "call": lambda: (timed(lambda: client.chat.completions.create(model="m", messages=MESSAGES)),),  # type: ignore[arg-type]
            "stream": lambda: first_then_drain(raw_stream, raw_text),
        },
        "ours": {
            "call": lambda: (timed(lambda: list(model.chat(OUR_MESSAGES, stream=False))),),
            "stream": lambda: first_then_drain(
                lambda: model.chat(OUR_MESSAGES, stream=True), lambda e: isinstance(e, TextDelta)
            ),
        },
    }


def dashscope_cells(base_url: str) -> dict[str, dict[str, Callable[[], tuple[float, ...]]]]:
    model = get_chat_model(
        {"model": "qwen", "model_server": "dashscope", "api_base": base_url, "api_key": "x"}
    )
    common = {
        "model": "qwen",
        "messages": MESSAGES,
        "api_key": "x",
        "base_address": base_url,
        "result_format": "message",
    }

    def raw_text(response: Any) -> bool:
        return bool(response.output and response.output.choices[0].message.content)

    return {
        "raw": {
            "call": lambda: (timed(lambda: dashscope.Generation.call(**common)),),
            "stream": lambda: first_then_drain(
                lambda: iter(dashscope.Generation.call(**common, stream=True, incremental_output=True)),
                raw_text,
            ),
        },
        "ours": {
            "call": lambda: (timed(lambda: list(model.chat(OUR_MESSAGES, stream=False))),),
            "stream": lambda: first_then_drain(
                lambda: model.chat(OUR_MESSAGES, stream=True), lambda e: isinstance(e, TextDelta)
            ),
        },
    }


QWEN_REPLY = FakeReply(text="Let me draw it for you.\n✿FUNCTION✿: my_image_gen\n✿ARGS✿: {\"prompt\": \"a quick brown fox\"}")
FUNCTIONS = [{"name": "my_image_gen", "description": "draw a picture",
              "parameters": [{"name": "prompt", "type": "string", "description": "what to draw", "required": True}]}]


def qwen_style_cells(base_url: str) -> dict[str, dict[str, Callable[[], tuple[float, ...]]]]:
    """Qwen-Agent's call shape on a URL server (✿FUNCTION✿ prompt, parsed into message-dict lists)
    against the raw SDK reading the same reply as plain text."""
    client = openai.OpenAI(base_url=base_url, api_key="x", max_retries=0)
    model = get_chat_model({"model": "m", "model_server": base_url, "api_key": "x"})

    def raw_stream() -> Iterator[Any]:
        return iter(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))  # type: ignore[arg-type]

    return {
        "raw": {
            "call": lambda: (timed(lambda: client.chat.completions.create(model="m", messages=MESSAGES)),),  # type: ignore[arg-type]
            "stream": lambda: first_then_drain(raw_stream, lambda c: bool(c.choices and c.choices[0].delta.content)),
        },
        "ours": {
            "call": lambda: (timed(lambda: model.chat(messages=MESSAGES, functions=FUNCTIONS, stream=False)),),
            "stream": lambda: first_then_drain(
                lambda: model.chat(messages=MESSAGES, functions=FUNCTIONS, stream=True), bool
            ),
        },
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(
    cells: dict[str, dict[str, Callable[[], tuple[float, ...]]]], n: int
) -> dict[str, dict[str, list[float]]]:
    """Interleaved: raw call, our call, raw call, ... so both see the same machine."""
    out: dict[str, dict[str, list[float]]] = {"raw": {}, "ours": {}}
    for kind in ("call", "stream"):
        for side in ("raw", "ours"):
            for _ in range(max(5, n // 20)):  # warm connections and code paths
                cells[side][kind]()
        for _ in range(n):
            for side in ("raw", "ours"):
                sample = cells[side][kind]()
                names = ["call"] if kind == "call" else ["first chunk", "stream total"]
                for name, value in zip(names, sample, strict=True):
                    out[side].setdefault(name, []).append(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="timed calls per cell (default 300)")
    args = parser.parse_args()
    rows = []
    started = time.perf_counter()
    for wire, server_class, cells, reply in (
        ("openai", FakeOpenAIServer, openai_cells, REPLY),
        ("dashscope", FakeDashScopeServer, dashscope_cells, REPLY),
        ("qwen-style", FakeOpenAIServer, qwen_style_cells, QWEN_REPLY),
    ):
        with server_class([reply], cycle=True) as server:
            results = run(cells(server.base_url), args.n)
        for metric in ("call", "first chunk", "stream total"):
            raw, ours = results["raw"][metric], results["ours"][metric]
            rows.append(
                (
                    wire,
                    metric,
                    statistics.median(raw),
                    statistics.median(ours),
                    pct(raw, 0.99),
                    pct(ours, 0.99),
                )
            )
    print(f"LLM layer vs raw SDK, fake servers on 127.0.0.1, n={args.n} per cell, times in ms")
    header = f"{'wire':<12}{'metric':<14}{'raw p50':>9}{'ours p50':>10}{'ratio':>7}{'raw p99':>9}{'ours p99':>10}{'ratio':>7}"
    print(header)
    print("-" * len(header))
    for wire, metric, r50, o50, r99, o99 in rows:
        print(
            f"{wire:<12}{metric:<14}{r50 * 1e3:>9.2f}{o50 * 1e3:>10.2f}{o50 / r50:>7.2f}"
            f"{r99 * 1e3:>9.2f}{o99 * 1e3:>10.2f}{o99 / r99:>7.2f}"
        )
    print(f"total run {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
