"""The Ray Serve set-up our services run on: fast, and private to one service.

Fast: HAProxy in front of the replicas' direct ingress, with Serve's throughput-optimized settings,
answered a bare request in ~1 ms where the default Python proxy took ~6 ms on the same machine
(``benchmarks/bench_assistant.py`` compares them).

Private: out of the box every Serve cluster on a machine shares things that make two services
answer on each other's ports. Each HAProxy falls back to a Python proxy on 127.0.0.1:8500, and
those proxies bind with SO_REUSEPORT, so the kernel spreads 8500's requests over every cluster's
proxy; the stats and metrics listeners bind fixed ports on every address; the admin socket is
mode 666 under a shared ``/tmp`` folder. ``ServeEnv`` gives one service its own free fallback
ports, no SO_REUSEPORT, its HAProxy files in a folder only its user can enter, and HAProxy through
``deploy/haproxy_guard.py`` (side listeners on 127.0.0.1, admin socket mode 600).

Ray reads these when it starts, so they are set before ``ray.init``; a value already in the
environment wins. A cluster started with ``ray start`` takes them from ``msagent serve env``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from deploy.haproxy_guard import is_guard
from msagent.ports import free_port

FAST_SERVE_ENV = {
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
}
DIR_PREFIX = "msagent-serve-"
# HAProxy takes socket paths of at most 97 bytes, and Ray puts them at <root>/<56-hex node id>/admin.sock
MAX_ROOT = 97 - len("/" + "0" * 56 + "/admin.sock")
OWNER_FILE = "owner.pid"
GUARD = Path(__file__).with_name("haproxy_guard.py")


@dataclass
class ServeEnv:
    """The environment of one service's Serve: ``env`` to set, ``root`` its private folder."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path | None = None) -> ServeEnv:
        """A fresh private folder (mode 700) and the settings that point into it."""
        if root is None:
            # short: HAProxy's sockets go in <root>/<56-hex node id>/, under the 108-byte limit
            base = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
            root = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=base))
        if len(str(root)) > MAX_ROOT:
            raise ValueError(f"{root}: HAProxy's socket paths under it would be too long; give a folder of at most "
                             f"{MAX_ROOT} characters (e.g. under /tmp)")
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if root.stat().st_uid != os.getuid():
            raise PermissionError(f"{root} belongs to another user; give a folder of your own")
        os.chmod(root, 0o700)
        (root / OWNER_FILE).write_text(str(os.getpid()))
        named = [os.environ.get(k, "") for k in ("MSAGENT_HAPROXY_BINARY", "RAY_SERVE_HAPROXY_BINARY_PATH")]
        real = next((p for p in named if p and not is_guard(p)), "")
        shim = root / "haproxy"
        shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -I {shlex.quote(str(GUARD))} \"$@\"\n")
        os.chmod(shim, 0o700)
        env = {
            **FAST_SERVE_ENV,
            # a taken port is an error, never a port shared with another cluster's proxy
            "SERVE_SOCKET_REUSE_PORT_ENABLED": "0",
            # a replica that stops stays open this long for load balancers to let go of it (default 30 s,
            # for remote ones); our HAProxy is told at once, and a SIGTERM should not take half a minute
            "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "2",
            # HAProxy's per-request metrics are one log datagram per request, parsed in a Python actor
            # (~10% of the server CPU of a chat request); the replicas record their request metrics anyway.
            # RAY_SERVE_HAPROXY_METRICS_ENABLED=1 in the environment turns them back on
            "RAY_SERVE_HAPROXY_METRICS_ENABLED": "0",
            "RAY_SERVE_FALLBACK_PROXY_HTTP_PORT": str(free_port()),
            "RAY_SERVE_FALLBACK_PROXY_GRPC_PORT": str(free_port()),
            "RAY_SERVE_HAPROXY_STATS_PORT": str(free_port()),
            "RAY_SERVE_HAPROXY_METRICS_PORT": str(free_port()),
            "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": str(root / "haproxy.cfg"),
            "RAY_SERVE_HAPROXY_SOCKET_PATH": str(root / "admin.sock"),
            "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": str(root),
            "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": str(root / "server-state"),
            "RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH": str(root / "metrics.sock"),
            # HAProxy's access log goes to a socket in the private folder, not as UDP datagrams to
            # 127.0.0.1:514 (where any syslog on the host would get every request line); nothing reads
            # it unless an operator points RAY_SERVE_HAPROXY_LOG_TARGET at their syslog
            "RAY_SERVE_HAPROXY_LOG_TARGET": str(root / "access-log.sock"),
            "RAY_SERVE_HAPROXY_BINARY_PATH": str(shim),
        }
        if real:
            env["MSAGENT_HAPROXY_BINARY"] = real
        return cls(root=root, env=env)

    def apply(self) -> dict[str, str]:
        """Set what the environment does not set already; returns what is in effect."""
        for key, value in self.env.items():
            if key == "RAY_SERVE_HAPROXY_BINARY_PATH":
                os.environ[key] = value  # the guard wraps an operator's binary (MSAGENT_HAPROXY_BINARY)
            else:
                os.environ.setdefault(key, value)
        return {key: os.environ[key] for key in self.env}

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def use_fast_serve_env() -> ServeEnv:
    """Before ``ray.init`` of a cluster this process starts: its Serve gets a private set-up."""
    serve_env = ServeEnv.create()
    serve_env.apply()
    return serve_env


def exports(serve_env: ServeEnv) -> str:
    """``export`` lines for a shell that then runs ``ray start`` (``msagent serve env``)."""
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in serve_env.env.items())
