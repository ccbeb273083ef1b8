"""A free TCP port on this machine, for services we start (tests, benchmarks, HAProxy's listeners)."""

from __future__ import annotations

import socket
from contextlib import ExitStack


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_ports(count: int, host: str = "") -> list[int]:
    """``count`` different free ports (held together while chosen, so none comes twice; on every
    address by default, so a port a process holds on another address is not chosen either)."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind((host, 0))
        return [int(s.getsockname()[1]) for s in socks]
