"""``ServeHost``: what one ``msagent serve ...`` command starts, and stopping all of it.

Starts a private local Ray cluster (or joins one with ``address``), Serve on one HTTP port (its
HAProxy ingress set up by ``deploy/serve_env.py``), the applications, and side processes (a local
model server). ``stop()`` undoes exactly that: the side processes, our applications (Serve
itself when we started it: that stops HAProxy), the cluster when we started it, then any HAProxy
still running from this service's private folder (by PID), and the folder.
``wait_for_signal()`` turns SIGINT/SIGTERM into a return, so the stop runs on the main thread
(Ray's own SIGTERM handler exits mid-call, which aborted the process).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from deploy.serve_env import DIR_PREFIX, OWNER_FILE, ServeEnv, use_fast_serve_env
from msagent.errors import ConfigError

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 30.0


class ServeHost:
    def __init__(self, host: str, port: int, address: str | None = None) -> None:
        self.host, self.port, self.address = host, port, address
        self.apps: list[str] = []
        self.processes: list[subprocess.Popen] = []
        self.serve_env: ServeEnv | None = None
        self.owns_cluster = False
        self.owns_serve = False
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Ray and Serve; on failure whatever started is stopped again, then the error raises."""
        import ray
        from ray import serve

        sweep_stale()
        try:
            if self.address is None:
                check_port_free(self.host, self.port)
                self.serve_env = use_fast_serve_env()
                # "local": never the cluster a `ray start` left on this machine (ray.init() would join it)
                ray.init(address="local", include_dashboard=False, log_to_driver=False)
                self.owns_cluster = True
            else:
                _use_cluster_token()
                ray.init(address=self.address, log_to_driver=False)
            self.owns_serve = not serve_running()
            if self.owns_serve and not self.owns_cluster:
                check_port_free(self.host, self.port)
            serve.start(http_options={"host": self.host, "port": self.port})
        except BaseException:
            self.stop()
            raise

    def run(self, app: Any, name: str, route_prefix: str) -> None:
        from ray import serve

        self.apps.append(name)
        serve.run(app, name=name, route_prefix=route_prefix)

    def add_process(self, proc: subprocess.Popen) -> None:
        """A side process (e.g. a model server) that stops with the service."""
        self.processes.append(proc)

    def wait_for_signal(self) -> None:
        """Block until SIGINT or SIGTERM (or ``request_stop``)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())
        while not self._stop.wait(1.0):
            for proc in self.processes:
                if proc.poll() is not None:
                    log.error("side process %s exited with %s; stopping the service", proc.args, proc.returncode)
                    return

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        """Stop everything this host started; safe to call twice and after a failed start."""
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up short
            if threading.current_thread() is threading.main_thread():
                signal.signal(sig, signal.SIG_IGN)
        for proc in self.processes:
            stop_process(proc)
        self.processes.clear()
        _bounded(self._stop_serve, "stopping Serve")
        if self.owns_cluster:
            import ray

            _bounded(ray.shutdown, "stopping the Ray cluster")
            self.owns_cluster = False
        if self.serve_env is not None:
            for pid in haproxy_pids(self.serve_env.root):
                log.warning("HAProxy %d outlived Serve; stopping it", pid)
                _kill(pid)
            self.serve_env.remove()
            self.serve_env = None

    def _stop_serve(self) -> None:
        import ray
        from ray import serve

        if not ray.is_initialized():
            return
        if self.owns_serve:
            serve.shutdown()
            self.owns_serve = False
        else:
            for name in self.apps:
                serve.delete(name)
        self.apps.clear()


def _bounded(fn: Any, what: str, timeout: float = STOP_TIMEOUT_S) -> None:
    """Run a stop step, giving up (with a warning) when it hangs or fails."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as e:  # noqa: BLE001  (reported below; the next steps still run)
            errors.append(e)

    thread = threading.Thread(target=run, name=what, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        log.warning("%s did not finish within %g s; going on", what, timeout)
    elif errors:
        log.warning("%s failed: %s", what, errors[0])


def _use_cluster_token() -> None:
    """Ray 2.5x+ clusters started by `ray start` require its auth token by default; a driver joining
    one sends it only in token mode, which it does not turn on by itself (it fails with
    "InvalidAuthToken"). Turn it on when a token is there, as Ray does for a cluster it starts."""
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token auth
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def serve_running() -> bool:
    from ray.serve.context import _get_global_client
    from ray.serve.exceptions import RayServeException

    try:
        _get_global_client()
    except RayServeException:
        return False
    return True


def check_port_free(host: str, port: int) -> None:
    """Refuse a port something already listens on (a fallback to it would answer for us)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as e:
            raise ConfigError(
                f"{host}:{port} is in use ({e.strerror}); another service listens there: stop it or pick "
                "another --port"
            ) from None


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def haproxy_pids(root: Path) -> list[int]:
    """HAProxy processes whose config lies in ``root`` (a folder only this service uses)."""
    prefix = str(root) + os.sep
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        args = _cmdline(int(entry))
        if "-f" in args[:-1] and args[args.index("-f") + 1].startswith(prefix) and "haproxy" in args[0]:
            found.append(int(entry))
    return found


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            time.sleep(0.05)
            os.kill(pid, 0)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(base: Path = Path("/tmp")) -> None:
    """Private folders of services that died without stopping (SIGKILL, power cut): their HAProxy
    processes (found by the folder in their command line) are stopped and the folders removed."""
    if not base.is_dir():
        return
    for root in base.glob(DIR_PREFIX + "*"):
        try:
            if root.stat().st_uid != os.getuid():
                continue
            owner = int((root / OWNER_FILE).read_text().strip() or "0")
        except (OSError, ValueError):
            continue
        if owner and _alive(owner):
            continue
        for pid in haproxy_pids(root):
            log.warning("stopping HAProxy %d left by a service that is gone (pid %d)", pid, owner)
            _kill(pid)
        ServeEnv(root=root).remove()
