"""Measuring ``msagent chatroom`` from process start to the first streamed token, as a user would:
start the command, open the page as soon as it answers, enter a story, press Start, and wait for
the first character's first words. Used by tests/chatroom/test_startup.py and
benchmarks/bench_chatroom_startup.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msagent.ports import free_port

FIRST_WORDS = "(() => { const b = document.querySelector('#room .msg .bubble'); return b && b.innerText.trim().length > 0 })()"


@dataclass
class Startup:
    http_s: float  # the page answers
    first_token_s: float  # the first words of the opener show in the page
    turn_s: float  # the room hands the turn to the user
    first_line: str
    exit_code: int | None
    leftovers: list[int]  # processes the command started that outlived it
    cpu_s: float = 0.0  # CPU the command's processes had used at the first token (all cores)
    load: float = 0.0  # the machine's load average when the command started
    ray_room_line: str = ""  # on Ray (``ray_room``): the first words of a room opened once Ray is up
    log: str = ""  # what the command printed


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (read from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _cpu_seconds(pids: set[int]) -> float:
    """User + system CPU of live processes ``pids`` (and of their children already waited for)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / ticks


def _alive(pids: set[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.append(pid)
    return sorted(out)


RAY_WARM = "new rooms run on Ray"  # the command's log line once a room host is ready


def _wait_for_log(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{text!r} not in the command's log within {timeout:.0f} s")
        time.sleep(0.5)


def _first_words(page: Any) -> str:
    page.wait_for_function(FIRST_WORDS, polling=20)
    page.wait_for_selector("#say textarea:not([disabled])")
    return str(page.inner_text("#room .msg .bubble"))


def measure_startup(
    browser: Any, data_dir: Path, args: list[str] | None = None, timeout: float = 180.0, ray_room: bool = False
) -> Startup:
    """Run ``msagent chatroom`` (default: the local model on Ray) and time it in ``browser``.
    ``ray_room``: then wait until Ray's room hosts are ready and play a second room's first words
    (the first room runs in the command's process while Ray starts)."""
    port = free_port()
    env = {**os.environ, "MSAGENT_DATA_DIR": str(data_dir)}
    for var in ("OPENAI_API_KEY", "OPENAI_API_BASE", "DASHSCOPE_API_KEY", "RAY_ADDRESS"):
        env.pop(var, None)  # the offline default, on a Ray of its own
    url = f"http://127.0.0.1:{port}/"
    log = open(data_dir / f"chatroom-{port}.log", "w")  # noqa: SIM115  (closed below)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "msagent", "chatroom", "--port", str(port), *(args or [])],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    descendants: set[int] = set()
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"msagent chatroom exited with {proc.returncode}; see {log.name}") from None
                if time.perf_counter() - started > timeout:
                    raise TimeoutError(f"the page did not answer within {timeout:.0f} s") from None
                time.sleep(0.05)
        http_s = time.perf_counter() - started
        page = browser.new_page()
        page.set_default_timeout(timeout * 1000)
        try:
            page.goto(url)
            page.click("#story-lighthouse")
            page.click("#start")
            page.wait_for_function(FIRST_WORDS, polling=20)
            first_token_s = time.perf_counter() - started
            cpu_s = _cpu_seconds({proc.pid, *_children(proc.pid)})
            page.wait_for_selector("#say textarea:not([disabled])")
            turn_s = time.perf_counter() - started
            first_line = page.inner_text("#room .msg .bubble")
            ray_line = ""
            if ray_room:
                _wait_for_log(Path(log.name), RAY_WARM, timeout)
                page.click("#back")
                page.click("#story-lighthouse")
                page.click("#start")
                ray_line = _first_words(page)
        except Exception as e:  # say what the page and the command showed
            log.flush()
            shown = page.inner_text("body")[-1500:]
            said = Path(log.name).read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{e}\n--- page:\n{shown}\n--- msagent chatroom:\n{said}") from e
        finally:
            descendants = _children(proc.pid)
            page.close()
    finally:
        descendants |= _children(proc.pid)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    deadline = time.monotonic() + 20
    leftovers = _alive(descendants)
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.5)
        leftovers = _alive(descendants)
    said = Path(log.name).read_text(errors="replace")
    return Startup(http_s, first_token_s, turn_s, first_line, proc.returncode, leftovers, cpu_s, load, ray_line, said)
