"""``--address`` joins a cluster from ``ray start`` (set up with ``msagent serve env``) instead of
starting one; stopping the service removes what it started (Serve and its ingress) and leaves the
cluster running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from service_process import ServiceProcess, listeners

from msagent.ports import free_port
from msagent.testing import FakeOpenAIServer

pytestmark = pytest.mark.slow


def _cluster_pids(temp_dir: Path) -> list[int]:
    """Every process of the `ray start` cluster under ``temp_dir`` (by command line or open files)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if str(temp_dir).encode() in f.read():
                    found.append(int(entry))
                    continue
            if any(str(temp_dir) in os.readlink(f"/proc/{entry}/fd/{fd}") for fd in os.listdir(f"/proc/{entry}/fd")):
                found.append(int(entry))
        except OSError:
            continue
    return found


def test_address_joins_a_ray_start_cluster_and_leaves_it_running(tmp_path: Path) -> None:
    temp_dir = Path(f"/tmp/msagent-join-{os.getpid()}")  # short: Ray's socket paths live under it
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "SERVE_"))}
    env["MSAGENT_DATA_DIR"] = str(tmp_path)
    ingress = Path(f"/tmp/msagent-j{os.getpid()}")
    too_long = subprocess.run([sys.executable, "-m", "msagent", "serve", "env", "--dir", str(tmp_path / "ingress")],
                              env=env, capture_output=True, text=True)
    assert too_long.returncode == 2 and "socket paths" in too_long.stderr  # HAProxy's 97-byte limit, said up front
    exports = subprocess.run([sys.executable, "-m", "msagent", "serve", "env", "--dir", str(ingress)],
                             env=env, capture_output=True, text=True, check=True).stdout
    for line in exports.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    gcs = free_port()
    start = subprocess.run(["ray", "start", "--head", f"--port={gcs}", f"--temp-dir={temp_dir}", "--num-cpus=2",
                            "--include-dashboard=false", "--disable-usage-stats"], env=env, capture_output=True,
                           text=True, timeout=180)
    try:
        assert start.returncode == 0, start.stdout + start.stderr
        port = free_port()
        with FakeOpenAIServer(replies=["joined"], cycle=True) as fake, ServiceProcess(
            ["assistant", "--address", f"127.0.0.1:{gcs}", "--port", str(port), "--api-base", fake.base_url],
            tmp_path / "svc", env={k: v for k, v in env.items() if k.startswith(("RAY_", "SERVE_"))},
        ) as service:
            service.wait_ready()
            r = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=60,
                           json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "joined", r.text
            assert "Started a local Ray instance" not in service.output()  # it joined
            assert service.stop(signal.SIGTERM) == 0, service.output()[-3000:]
        assert not [x for x in listeners() if x[1] == port]  # its ingress is gone
        alive = [Path(f"/proc/{p}/cmdline").read_bytes() for p in _cluster_pids(temp_dir)]
        assert any(b"gcs_server" in c for c in alive)  # the cluster was not the service's to stop
    finally:
        for pid in _cluster_pids(temp_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(1)
        for folder in (temp_dir, ingress):
            subprocess.run(["rm", "-rf", str(folder)], check=False)
