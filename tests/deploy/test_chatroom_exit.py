"""``msagent chatroom`` on Ray stops on SIGTERM as on Ctrl-C: exit status 0, and no process and no
listener of it left (it used to end by SIGABRT, or at once with Ray's agents and actors orphaned)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from service_process import alive, descendants, listeners

from msagent.ports import free_port

pytestmark = pytest.mark.slow


def test_sigterm_stops_the_chat_room_and_its_ray(tmp_path: Path) -> None:
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_")}, "MSAGENT_DATA_DIR": str(tmp_path),
           "MSAGENT_CHATROOM_RAY_DELAY_S": "1"}  # Ray at once, not a minute after the page answers
    log = tmp_path / "chatroom.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "msagent", "chatroom", "--port", str(port),
                                 "--model-server", "scripted"], stdout=out, stderr=subprocess.STDOUT, env=env)
    tree: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 240
        while not any("raylet" in c for c in tree.values()) or not _serves(port):
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the chat room did not come up"
            time.sleep(0.5)
            tree = descendants(proc.pid)
        time.sleep(2)  # the warm room host starts after Ray
        tree = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(90) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(1)
    assert not {p: c for p, c in tree.items() if alive(p)}
    assert not [x for x in listeners() if x[1] == port or x[2] & set(tree)]


def _serves(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
