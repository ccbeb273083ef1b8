"""Run a scenario: in-process (``msagent run``) or on a cluster (``ray job submit``).

    RAY_AUTH_MODE=token ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\
        python -m msagent.runtime.job deploy/jobs/debate.yaml

``run_scenario(scenario, remote=None, rounds=None, transcript=None, emit=print-like, resume=False,
fresh=False)`` builds the agents (one actor each, or pools of ``pool_size`` when set), sends the
task, runs the rounds with the scenario's policy, streams every frame to ``emit`` as one line, and
appends each message to the transcript (JSON lines) as it is published. As a module it is the job
entry point: remote by default (``RAY_ADDRESS`` is set by ``ray job submit``), ``--local`` to stay
in-process.

A run is named after its scenario file (``runs.py``). If an earlier run of the same file did not
finish (killed, crashed), a new run is refused with ``UnfinishedRunError`` naming it: ``resume=True``
(``--resume``) continues it from its durable log (agents get their history back, an interrupted
round is finished, the remaining rounds run, the transcript goes on), ``fresh=True`` (``--fresh``)
discards it and starts over.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from environment.env import derived_id
from environment.routing import normalize_send_to
from msagent.errors import ConfigError, UnfinishedRunError
from msagent.runtime.calls import call
from msagent.runtime.component import create_component
from msagent.runtime.pool import PoolTaskCenter, create_pool
from msagent.runtime.runs import RunRecord, TranscriptWriter, run_id_for
from msagent.runtime.scenario import Scenario, load_scenario, resolve_class
from msagent.schemas import Message
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
    run_id: str = ""
    resumed: bool = False


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
                    actor_options=spec.actor_options or None,
                )  # fmt: skip
            continue
        for kwargs in kwargs_list:
            agents.append(
                create_component(
                    cls, remote=remote, prefix_name=prefix, force_new=True,
                    actor_options=spec.actor_options or None, **kwargs,
                )  # fmt: skip
            )
    return agents


def run_scenario(
    scenario: Scenario | str | Path,
    remote: bool | None = None,
    rounds: int | None = None,
    transcript: str | Path | None = None,
    emit: Callable[[str], None] | None = None,
    resume: bool = False,
    fresh: bool = False,
) -> RunResult:
    """Run ``scenario`` to its end; every frame goes to ``emit`` (default: the log)."""
    if resume and fresh:
        raise ConfigError("resume and fresh exclude each other: continue the last run, or start over")
    source = str(Path(scenario).resolve()) if not isinstance(scenario, Scenario) else None
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    run_id = run_id_for(scenario.name, source or scenario.model_dump_json())
    record = _run_record(scenario, run_id, source, transcript, resume, fresh)
    remote = scenario.remote if remote is None else bool(remote)
    max_rounds = scenario.rounds if rounds is None else max(1, int(rounds))
    path = Path(record.transcript)
    out = emit or (lambda line: log.info("%s", line))
    # stable names: a resumed run reopens the same Task Center, Environment and Registry state
    prefix = f"run{run_id.rsplit('-', 1)[-1]}"
    started = time.monotonic()
    tc = PoolTaskCenter(
        remote=remote, prefix_name=prefix, policy=scenario.policy.as_policy(), durable=scenario.durable,
        instance_id=run_id, resume=resume, actor_options=scenario.actor_options or None,
        env_shards=scenario.env_shards,
    )  # fmt: skip
    actors: list[Any] = []
    agents: list[Any] = []
    try:
        agents = _build_agents(scenario, remote, prefix)
        actors = [a for a in agents if not hasattr(a, "pool")]
        tc.add_agents(agents)
        writer = TranscriptWriter(path, tc.env, fresh=not resume)
        task = scenario.task
        # the task has an id of its own run: sent once, even if a resumed run sends it again
        msg = Message(
            id=derived_id(f"{run_id}/task"), role=task.send_from, content=task.content,
            sent_from=task.send_from, send_to=normalize_send_to(task.send_to),
        )  # fmt: skip
        call(tc.env, "store_message_from_role", task.send_from, msg)
        left = max(0, max_rounds - tc.get_rounds_done())
        frames = 0
        for frame in tc.run(max_rounds=left, send_to=scenario.send_to):
            out(frame)
            frames += 1
            writer.poll()
        writer.flush()
        record.finish()
        return RunResult(
            frames=frames, rounds=max_rounds, stop_reason=tc.get_last_stop_reason(), transcript_path=path,
            messages=list(writer.rows), seconds=time.monotonic() - started, run_id=run_id, resumed=resume,
        )  # fmt: skip
    finally:
        tc.close()
        if remote:
            import ray

            for actor in actors:
                ray.kill(actor, no_restart=True)
        else:
            _close_local(agents)


def _close_local(agents: list[Any]) -> None:
    """Release what local agents hold (MCP server processes, kernels), pooled ones through their pool."""
    pools = {id(a.pool): a.pool for a in agents if hasattr(a, "pool")}
    for agent in agents:
        if not hasattr(agent, "pool") and hasattr(agent, "close"):
            _quietly(agent.close)
    for pool in pools.values():
        _quietly(pool.close_agents)


def _quietly(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except Exception as e:  # noqa: BLE001  (the run is over; one agent's failing close must not hide it)
        log.warning("closing an agent failed: %s", e)


def _run_record(
    scenario: Scenario, run_id: str, source: str | None, transcript: str | Path | None, resume: bool, fresh: bool
) -> RunRecord:
    """This run's record: a new one, or the unfinished one when resuming (refused otherwise)."""
    shown = source or f"scenario {scenario.name!r}"
    old = RunRecord.load(run_id)
    unfinished = old is not None and old.status != "finished"
    if resume:
        if old is None or not unfinished:
            raise UnfinishedRunError(
                f"nothing to resume: {shown} has no unfinished run"
                + (f" (its last run finished; transcript {old.transcript})" if old else ""),
                run=run_id, hint="run it without --resume",
            )
        if not scenario.durable:
            raise ConfigError(f"{shown} has durable: false: its run kept no log to resume from", field="durable")
        if transcript is not None and str(Path(transcript)) != old.transcript:
            log.warning("resuming %s: its transcript stays %s", run_id, old.transcript)
        return old
    if unfinished and not fresh:
        assert old is not None
        cmd = f"msagent run {source}" if source else "the same run"
        raise UnfinishedRunError(
            f"an earlier {old.describe()} did not finish. Continue it with `{cmd} --resume`, "
            f"or discard it and start over with `{cmd} --fresh`",
            run=run_id, hint="--resume or --fresh",
        )
    path = Path(transcript or scenario.transcript or _default_transcript(scenario)).resolve()
    record = RunRecord(run_id=run_id, scenario=shown, transcript=str(path), started_at=time.time())
    if scenario.durable:
        record.save()
    return record


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
    add_resume_arguments(parser)


def add_resume_arguments(parser: argparse.ArgumentParser) -> None:
    again = parser.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue this scenario's unfinished run")
    again.add_argument("--fresh", action="store_true", help="discard this scenario's unfinished run, start over")


def run_from_args(args: argparse.Namespace) -> int:
    """Shared by ``msagent run`` and the job entry point; frames and the summary go to stdout."""
    from msagent.errors import MsagentError

    def emit(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        result = run_scenario(
            args.scenario, remote=args.remote, rounds=args.rounds,
            transcript=args.transcript, emit=emit, resume=getattr(args, "resume", False),
            fresh=getattr(args, "fresh", False),
        )  # fmt: skip
    except MsagentError as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    emit(
        f"# done{' (resumed)' if result.resumed else ''}: {len(result.messages)} messages, {result.frames} frames, "
        f"stop={result.stop_reason}, {result.seconds:.1f}s; transcript: {result.transcript_path}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    return run_from_args(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
