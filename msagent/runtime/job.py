"""Run a scenario: in-process (``msagent run``) or on a cluster (``ray job submit``).

    RAY_AUTH_MODE=token ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\
        python -m msagent.runtime.job deploy/jobs/debate.yaml

``run_scenario(scenario, remote=None, rounds=None, transcript=None, emit=print-like)`` builds the
agents (one actor each, or pools of ``pool_size`` when set), sends the task, runs the rounds with
the scenario's policy, streams every frame to ``emit`` as one line, and writes the transcript (the
Environment's history, JSON lines) to a file. As a module it is the job entry point: remote by
default (``RAY_ADDRESS`` is set by ``ray job submit``), ``--local`` to stay in-process.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msagent.runtime.calls import call
from msagent.runtime.component import create_component
from msagent.runtime.pool import PoolTaskCenter, create_pool
from msagent.runtime.scenario import Scenario, load_scenario, resolve_class
from msagent.settings import data_dir

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    frames: int
    rounds: int
    stop_reason: str
    transcript_path: Path
    messages: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def _default_transcript(scenario: Scenario) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return data_dir("transcripts") / f"{scenario.name}-{stamp}-{uuid.uuid4().hex[:6]}.jsonl"


def _build_agents(scenario: Scenario, remote: bool, prefix: str) -> list[Any]:
    agents: list[Any] = []
    for i, spec in enumerate(scenario.agents):
        cls = resolve_class(spec.cls)
        kwargs_list = [spec.agent_kwargs(role) for role in spec.roles()]
        if scenario.pool_size > 0:
            for start in range(0, len(kwargs_list), scenario.pool_size):
                agents += create_pool(
                    cls, kwargs_list[start : start + scenario.pool_size], name=f"pool{i}_{start}",
                    remote=remote, prefix_name=prefix, concurrency=scenario.pool_concurrency,
                )  # fmt: skip
            continue
        for kwargs in kwargs_list:
            agents.append(create_component(cls, remote=remote, prefix_name=prefix, force_new=True, **kwargs))
    return agents


def run_scenario(
    scenario: Scenario | str | Path,
    remote: bool | None = None,
    rounds: int | None = None,
    transcript: str | Path | None = None,
    emit: Callable[[str], None] | None = None,
) -> RunResult:
    """Run ``scenario`` to its end; every frame goes to ``emit`` (default: the log)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    remote = scenario.remote if remote is None else bool(remote)
    max_rounds = scenario.rounds if rounds is None else max(1, int(rounds))
    path = Path(transcript or scenario.transcript or _default_transcript(scenario))
    out = emit or (lambda line: log.info("%s", line))
    prefix = f"job{uuid.uuid4().hex[:10]}"
    started = time.monotonic()
    tc = PoolTaskCenter(
        remote=remote, prefix_name=prefix, policy=scenario.policy.as_policy(),
        history_limit=1_000_000, durable=scenario.durable,
    )  # fmt: skip
    actors: list[Any] = []
    try:
        agents = _build_agents(scenario, remote, prefix)
        actors = [a for a in agents if not hasattr(a, "pool")]
        tc.add_agents(agents)
        task = scenario.task
        tc.send_task_request(task.content, send_to=task.send_to, send_from=task.send_from)
        frames = 0
        for frame in tc.run(max_rounds=max_rounds, send_to=scenario.send_to):
            out(frame)
            frames += 1
        messages = [_transcript_row(m) for m in call(tc.env, "extract_all_history_message", None)]
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as f:
            for row in messages:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return RunResult(
            frames=frames, rounds=max_rounds, stop_reason=tc.get_last_stop_reason(), transcript_path=path,
            messages=messages, seconds=time.monotonic() - started,
        )  # fmt: skip
    finally:
        tc.close()
        if remote:
            import ray

            for actor in actors:
                ray.kill(actor, no_restart=True)


def _transcript_row(message: Any) -> dict[str, Any]:
    return {
        "id": message.id,
        "from": message.sent_from or message.role,
        "send_to": message.send_to,
        "content": message.content,
    }


def build_parser(prog: str = "python -m msagent.runtime.job") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Run a multi-agent scenario file (YAML or JSON).")
    add_arguments(parser, remote_default=True)
    return parser


def add_arguments(parser: argparse.ArgumentParser, remote_default: bool | None) -> None:
    parser.add_argument("scenario", help="scenario file (.yaml, .yml or .json)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--remote", dest="remote", action="store_true", default=remote_default,
                      help="agents as Ray actors (joins RAY_ADDRESS or starts a local Ray)")  # fmt: skip
    mode.add_argument("--local", dest="remote", action="store_false", help="everything in this process")
    parser.add_argument("--rounds", type=int, default=None, help="override the scenario's rounds")
    parser.add_argument("--transcript", default=None, help="where to write the transcript (JSON lines)")


def run_from_args(args: argparse.Namespace) -> int:
    """Shared by ``msagent run`` and the job entry point; frames and the summary go to stdout."""
    from msagent.errors import MsagentError

    def emit(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        scenario = load_scenario(args.scenario)
        result = run_scenario(
            scenario, remote=args.remote, rounds=args.rounds, transcript=args.transcript, emit=emit
        )
    except MsagentError as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    emit(
        f"# done: {len(result.messages)} messages, {result.frames} frames, stop={result.stop_reason}, "
        f"{result.seconds:.1f}s; transcript: {result.transcript_path}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    return run_from_args(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
