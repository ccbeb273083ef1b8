"""The Ray Serve set-up our services run on by default.

HAProxy in front of the replicas' direct ingress, with Serve's throughput-optimized settings,
answered a bare request in ~1 ms where the default Python proxy took ~6 ms on the same machine
(``benchmarks/bench_assistant.py`` compares them). Ray reads these when it starts, so they are set
before ``ray.init``; a value already in the environment wins.
"""

from __future__ import annotations

import os

from msagent.ports import free_port

FAST_SERVE_ENV = {
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
}


def use_fast_serve_env() -> None:
    for key, value in FAST_SERVE_ENV.items():
        os.environ.setdefault(key, value)
    # HAProxy's stats and metrics listeners default to fixed ports (8404, 9101): a second service
    # on the same machine (the assistant beside the tool manager) would fail to bind them
    for key in ("RAY_SERVE_HAPROXY_STATS_PORT", "RAY_SERVE_HAPROXY_METRICS_PORT"):
        os.environ.setdefault(key, str(free_port()))
