"""Memory and CPU of groups of processes (a Ray node's, a driver's), read from /proc.

``MemorySampler`` samples them in a background thread while a benchmark runs: the peak memory of
each group and of all together (at one instant), and the CPU time each group used meanwhile.
RSS counts a shared page in every process that maps it (Ray's libraries, the object store), so a
sum of RSS is an upper bound; PSS (``pss=True``) splits shared pages between their processes.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")
Table = Mapping[int, tuple[int, str]]


def process_table() -> dict[int, tuple[int, str]]:
    """``{pid: (parent pid, command line)}`` of every process we can read."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        table[int(entry.name)] = (ppid, cmdline)
    return table


def tree_of(table: Table, marker: str | None = None, roots: set[int] | None = None) -> set[int]:
    """Processes naming ``marker`` (never this one) and the ``roots``, with all their descendants."""
    me = os.getpid()
    found = {p for p, (_, cmd) in table.items() if marker and marker in cmd and p != me} | (roots or set())
    grew = True
    while grew:
        kids = {p for p, (pp, _) in table.items() if pp in found and p not in found and p != me}
        found |= kids
        grew = bool(kids)
    return found & set(table)


def rss_of(pids: set[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            pass  # gone since the scan
    return total


def pss_of(pids: set[int]) -> int:
    """Proportional set size: shared pages (Ray's libraries, the object store) split between sharers."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except (OSError, IndexError, ValueError):
            pass
    return total


def cpu_ticks(pid: int) -> int | None:
    """User + system CPU time of ``pid`` so far, in clock ticks (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


class MemorySampler:
    """Groups of processes sampled in a thread while a block runs. ``groups(table)`` names them
    (``{key: pids}``, e.g. a cluster's ``pids_by_node``); ``extra`` adds processes outside them (a
    driver: ``{"driver": pid}``), each with its descendants not counted elsewhere.

    After ``stop()``: ``peak_by_node`` ({key: bytes}), ``peak_total`` (the peak of the sum, taken at
    one instant), ``cpu_s_by_node`` / ``cpu_s_total`` (CPU seconds used while sampling: a process
    running at the start counts from then, one started later in full), ``samples``
    (``[(seconds since start, {key: bytes})]``) and ``pids_seen`` ({key: every pid counted})."""

    def __init__(
        self,
        groups: Callable[[Table], dict[str, set[int]]],
        interval_s: float,
        extra: dict[str, int],
        pss: bool,
    ) -> None:
        self.groups = groups
        self.interval_s = interval_s
        self.extra = extra
        self.measure = pss_of if pss else rss_of
        self.peak_by_node: dict[str, int] = {}
        self.peak_total = 0
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.pids_seen: dict[str, set[int]] = {}
        self._cpu_first: dict[int, int] = {}
        self._cpu_last: dict[int, int] = {}
        self._key_of: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scale-memory", daemon=True)
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = time.monotonic()
        self.sample(first=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self, first: bool = False) -> dict[str, int]:
        """One sample now (also called by the thread): ``{key: bytes}``."""
        table = process_table()
        groups = self.groups(table)
        counted = set().union(*groups.values()) if groups else set()
        for name, pid in self.extra.items():
            groups[name] = tree_of(table, roots={pid} & set(table)) - counted
        now = {key: self.measure(pids) for key, pids in groups.items()}
        for key, pids in groups.items():
            self.pids_seen.setdefault(key, set()).update(pids)
            self.peak_by_node[key] = max(self.peak_by_node.get(key, 0), now[key])
            for pid in pids:
                ticks = cpu_ticks(pid)
                if ticks is None:
                    continue
                self._cpu_first.setdefault(pid, ticks if first else 0)
                self._cpu_last[pid] = ticks
                self._key_of[pid] = key
        self.peak_total = max(self.peak_total, sum(now.values()))
        self.samples.append((time.monotonic() - self._t0, now))
        return now

    @property
    def cpu_s_by_node(self) -> dict[str, float]:
        out = dict.fromkeys(self.pids_seen, 0.0)
        for pid, last in self._cpu_last.items():
            out[self._key_of[pid]] += (last - self._cpu_first[pid]) / _TICK
        return out

    @property
    def cpu_s_total(self) -> float:
        return sum(self.cpu_s_by_node.values())
