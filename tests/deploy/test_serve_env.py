"""The private Serve set-up of one service: HAProxy's config hardened, a folder of its own, free
fallback ports, stale HAProxy processes of a dead service stopped, a taken port refused."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from deploy.haproxy_guard import harden, is_guard, main, real_binary
from deploy.serve_env import FAST_SERVE_ENV, OWNER_FILE, ServeEnv
from deploy.serve_host import check_port_free, haproxy_pids, sweep_stale
from msagent.errors import ConfigError

# the shape of Ray Serve's rendered config (ray/serve/_private/haproxy_templates.py)
RAY_CONFIG = textwrap.dedent("""\
    global
        log 127.0.0.1:514 local0 info
        stats socket /tmp/x/admin.sock mode 666 level admin expose-fd listeners
        maxconn 4096
    defaults
        mode http
    frontend prometheus
        bind :9101
        mode http
        http-request use-service prometheus-exporter if { path /metrics }
    frontend http_frontend
        bind 0.0.0.0:8000
    backend default_backend
        http-request return status 404
    listen stats
      bind *:8404
      stats enable
      stats uri /stats
    """)


def test_guard_keeps_side_listeners_on_loopback_and_the_socket_private() -> None:
    out = harden(RAY_CONFIG)
    assert "    bind 127.0.0.1:9101\n" in out and "  bind 127.0.0.1:8404\n" in out
    assert "stats socket /tmp/x/admin.sock mode 600 level admin" in out
    assert "    bind 0.0.0.0:8000\n" in out  # the service's own address is the operator's choice
    assert harden(out) == out
    assert "mode 600" in harden("global\n    stats socket /s level admin\n")


def test_guard_rewrites_the_config_then_becomes_haproxy(tmp_path: Path) -> None:
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(RAY_CONFIG)
    # the real HAProxy checks the hardened file (-c: check only) in the guard's own process (exec)
    code = f"import sys; sys.argv = ['x', '-c', '-f', {str(cfg)!r}]; from deploy.haproxy_guard import main; main()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[2])
    assert "bind 127.0.0.1:8404" in cfg.read_text()
    assert done.returncode == 0, done.stdout + done.stderr
    assert main(["-f", str(tmp_path / "missing.cfg")]) == 1  # fail closed


def test_serve_env_is_private_and_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("RAY_SERVE", "SERVE_", "MSAGENT_HAPROXY")):
            monkeypatch.delenv(key)
    with pytest.raises(ValueError, match="socket paths"):  # HAProxy's 97-byte socket paths would not fit
        ServeEnv.create(tmp_path / "one")
    one, two = ServeEnv.create(), ServeEnv.create()
    try:
        assert stat.S_IMODE(one.root.stat().st_mode) == 0o700
        assert (one.root / OWNER_FILE).read_text() == str(os.getpid())
        assert FAST_SERVE_ENV.items() <= one.env.items() and one.env["SERVE_SOCKET_REUSE_PORT_ENABLED"] == "0"
        ports = ("RAY_SERVE_FALLBACK_PROXY_HTTP_PORT", "RAY_SERVE_HAPROXY_STATS_PORT", "RAY_SERVE_HAPROXY_METRICS_PORT")
        assert {one.env[k] for k in ports}.isdisjoint({two.env[k] for k in ports})
        assert "8500" not in {one.env[k] for k in ports}
        assert one.env["RAY_SERVE_HAPROXY_SOCKET_PATH"].startswith(str(one.root))
        shim = one.env["RAY_SERVE_HAPROXY_BINARY_PATH"]
        assert is_guard(shim) and os.access(shim, os.X_OK)
        monkeypatch.setenv("RAY_SERVE_HAPROXY_BINARY_PATH", shim)  # a guard never wraps a guard
        assert not is_guard(real_binary())
        monkeypatch.setenv("RAY_SERVE_HAPROXY_STATS_PORT", "12345")  # the operator's value wins
        assert one.apply()["RAY_SERVE_HAPROXY_STATS_PORT"] == "12345"
    finally:
        one.remove()
        two.remove()
    assert not one.root.exists()


def test_stale_haproxy_of_a_dead_service_is_stopped(tmp_path: Path) -> None:
    root = tmp_path / "msagent-serve-stale"
    root.mkdir(mode=0o700)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (root / OWNER_FILE).write_text(str(dead.pid))
    cfg = root / "node" / "haproxy.cfg"
    # a process that looks like that service's HAProxy (its config lies in the folder)
    fake = subprocess.Popen(["haproxy", "-c", "import time; time.sleep(120)", "-f", str(cfg)], executable=sys.executable)
    live = tmp_path / "msagent-serve-live"
    live.mkdir(mode=0o700)
    (live / OWNER_FILE).write_text(str(os.getpid()))
    try:
        # exec closes Popen's error pipe before the kernel has set the new command line: wait for it
        deadline = time.monotonic() + 10
        while haproxy_pids(root) != [fake.pid] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert haproxy_pids(root) == [fake.pid]
        sweep_stale(tmp_path)
        assert fake.wait(10) is not None and not root.exists()
        assert live.exists()  # a live service's folder is left alone
    finally:
        fake.kill()


def test_a_taken_port_is_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(ConfigError, match="in use"):
            check_port_free("127.0.0.1", s.getsockname()[1])
