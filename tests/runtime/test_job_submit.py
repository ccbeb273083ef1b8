"""End to end: our own ``ray start --head`` (token auth), ``ray job submit`` of a scenario, and a
teardown that stops only the processes this test started (never ``ray stop``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from msagent.ports import free_port
from tests.runtime.ray_processes import RAY, pids_using, stop_pids

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ray_head() -> Iterator[tuple[str, dict[str, str]]]:
    temp_dir = tempfile.mkdtemp(prefix="msagent-rayjob-", dir="/tmp")  # short: Ray puts sockets in it
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    env.pop("RAY_ADDRESS", None)
    dashboard = free_port()
    cmd = [
        RAY, "start", "--head", "--port", str(free_port()), "--dashboard-port", str(dashboard),
        "--dashboard-host", "127.0.0.1", "--num-cpus", "2", "--include-dashboard=true",
        "--temp-dir", temp_dir, "--disable-usage-stats",
        "--ray-client-server-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port()),
        "--runtime-env-agent-port", str(free_port()), "--metrics-export-port", str(free_port()),
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, f"ray start --head failed:\n{proc.stdout}\n{proc.stderr}"
        yield f"http://127.0.0.1:{dashboard}", env
    finally:
        stop_pids(pids_using(temp_dir))
        leftover = pids_using(temp_dir)
        if not leftover:
            shutil.rmtree(temp_dir, ignore_errors=True)
        assert not leftover, f"processes of our Ray head still alive: {sorted(leftover)}"


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_ray_job_submit_runs_a_scenario(ray_head: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    address, env = ray_head
    transcript = tmp_path / "debate.jsonl"
    runtime_env = {
        "excludes": [".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", "test-artifacts"],
        "env_vars": {"MSAGENT_DATA_DIR": str(tmp_path / "data")},
    }
    cmd = [
        RAY, "job", "submit", "--address", address, "--working-dir", ".",
        "--runtime-env-json", json.dumps(runtime_env), "--",
        "python", "-m", "msagent.runtime.job", "deploy/jobs/debate.yaml", "--transcript", str(transcript),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"ray job submit failed ({proc.returncode}):\n{out[-4000:]}"
    match = re.search(r"raysubmit_[A-Za-z0-9]+", out)
    assert match, f"no job id in the output of ray job submit:\n{out[-4000:]}"
    job_id = match.group(0)
    # ask the job server itself (token auth comes from env), not the CLI's wording
    probe = (
        "import sys; from ray.job_submission import JobSubmissionClient as C; c = C(sys.argv[1]); "
        "print('STATUS', c.get_job_status(sys.argv[2]).value); print(c.get_job_logs(sys.argv[2]))"
    )
    query = subprocess.run(
        [sys.executable, "-c", probe, address, job_id], env=env, capture_output=True, text=True, timeout=120
    )
    assert "STATUS SUCCEEDED" in query.stdout, query.stdout[-2000:] + query.stderr[-2000:]
    logs = query.stdout
    # the job's log carries the frames and the summary
    assert "alice: Tea" in logs and "bob: Coffee" in logs, logs[-4000:]
    assert "# done: 5 messages" in logs, logs[-4000:]
    rows = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert [r["from"] for r in rows] == ["user_requirement", "alice", "bob", "alice", "bob"]
