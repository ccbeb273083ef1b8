"""``msagent serve ...`` as a real process, and what it left behind: its descendants (``/proc``) and
the TCP listeners they own (``ss``). Imported by name (pytest puts this folder on sys.path)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from msagent.testing.ray_head import process_tree

READY = "SIGTERM stops it"
_LISTEN = re.compile(r"^LISTEN\s+\S+\s+\S+\s+(\S+):(\d+)\s+\S+\s+users:\((.*)\)\s*$")


def descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every process below ``pid``."""
    return {p: cmdline(p) for p in process_tree(pid) if p != pid}


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def listeners() -> list[tuple[str, int, set[int]]]:
    """(address, port, owner pids) of every TCP listener, from ``ss -ltnpH``."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        m = _LISTEN.match(line.strip())
        if m:
            found.append((m.group(1), int(m.group(2)), {int(p) for p in re.findall(r"pid=(\d+)", m.group(3))}))
    return found


class ServiceProcess:
    """``python -m msagent serve <args>`` with its own data dir; ``start()`` returns once it says it
    serves (or raises with its output)."""

    def __init__(self, args: list[str], data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.args, self.data_dir = args, data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log = data_dir / "service.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "TOOL_MANAGER_"))}
        self.env.update({"MSAGENT_DATA_DIR": str(data_dir), **(env or {})})
        self.proc: subprocess.Popen | None = None

    def start(self) -> ServiceProcess:
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "msagent", "serve", *self.args], env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 240.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while READY not in self.output():
            assert self.proc.poll() is None, f"the service exited with {self.proc.returncode}:\n{self.output()[-4000:]}"
            assert time.monotonic() < deadline, f"the service did not start within {timeout:g} s:\n{self.output()[-4000:]}"
            time.sleep(0.25)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90.0) -> int:
        """Send ``sig`` and wait; a service that does not end is killed (and the test fails on it)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            for pid in descendants(self.pid):
                _kill(pid)
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"the service did not stop within {timeout:g} s of signal {sig}") from None

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            left = descendants(self.pid)
            self.stop()
            for pid in left:
                _kill(pid)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
