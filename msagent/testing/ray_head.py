"""A private ``ray start --head`` (token auth, free ports, its own temp dir) for tests that submit
jobs, stopped by the PIDs it started (never a bare ``ray stop``, which stops every Ray here).

    with RayHead() as head:
        subprocess.run([head.ray, "job", "submit", "--address", head.address, ...], env=head.env)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from msagent.ports import free_ports


def ray_cli() -> str:
    """The ``ray`` next to this interpreter (a venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("ray")
    return str(beside) if beside.exists() else (shutil.which("ray") or "ray")


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process, from /proc."""
    out: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        out[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    return out


def _with_descendants(found: set[int], processes: dict[int, tuple[int, str]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in processes.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = set(found), list(found)
    while todo:
        for kid in children.get(todo.pop(), []):
            if kid not in out:
                out.add(kid)
                todo.append(kid)
    return out


def pids_using(marker: str) -> set[int]:
    """Processes whose command line names ``marker`` (our temp dir), and all their descendants."""
    processes = _processes()
    found = {pid for pid, (_, cmdline) in processes.items() if marker in cmdline and pid != os.getpid()}
    return _with_descendants(found, processes)


def process_tree(pid: int) -> set[int]:
    """``pid`` and every process below it."""
    return _with_descendants({pid}, _processes())


def stop_pids(pids: set[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.2)


class RayHead:
    def __init__(self, num_cpus: int = 2) -> None:
        self.num_cpus = num_cpus
        self.ray = ray_cli()
        self.temp_dir = ""
        self.address = ""
        self.env: dict[str, str] = {}

    def start(self) -> RayHead:
        self.temp_dir = tempfile.mkdtemp(prefix="msagent-rayhead-", dir="/tmp")  # short: sockets live there
        self.env = {**os.environ, "RAY_AUTH_MODE": "token"}
        self.env.pop("RAY_ADDRESS", None)
        gcs, dashboard, client, agent, runtime_env, metrics = free_ports(6)  # all different
        cmd = [
            self.ray, "start", "--head", "--port", str(gcs), "--dashboard-port", str(dashboard),
            "--dashboard-host", "127.0.0.1", "--num-cpus", str(self.num_cpus), "--include-dashboard=true",
            "--temp-dir", self.temp_dir, "--disable-usage-stats",
            "--ray-client-server-port", str(client), "--dashboard-agent-listen-port", str(agent),
            "--runtime-env-agent-port", str(runtime_env), "--metrics-export-port", str(metrics),
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=240)
        except BaseException:
            self.stop()
            raise
        if proc.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray start --head failed:\n{proc.stdout}\n{proc.stderr}")
        self.address = f"http://127.0.0.1:{dashboard}"
        return self

    def stop(self) -> None:
        """Stop every process of this head; raises if one survives."""
        if not self.temp_dir:
            return
        stop_pids(pids_using(self.temp_dir))
        leftover = pids_using(self.temp_dir)
        if leftover:
            raise RuntimeError(f"processes of our Ray head still alive: {sorted(leftover)}")
        shutil.rmtree(self.temp_dir, ignore_errors=True)
        self.temp_dir = ""

    def job_status(self, job_id: str) -> tuple[str, str]:
        """(status, logs) asked of the job server itself (token auth from ``env``)."""
        probe = (
            "import sys; from ray.job_submission import JobSubmissionClient as C; c = C(sys.argv[1]); "
            "print('STATUS', c.get_job_status(sys.argv[2]).value); print(c.get_job_logs(sys.argv[2]))"
        )
        query = subprocess.run(
            [sys.executable, "-c", probe, self.address, job_id], env=self.env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        first, _, logs = query.stdout.partition("\n")
        return first.removeprefix("STATUS ").strip(), logs + query.stderr

    def __enter__(self) -> RayHead:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
