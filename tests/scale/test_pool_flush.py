"""A pool commits its finished agents' replies while other agents of the same ``step_many`` still
wait for their model (msagent/runtime/pool_flush.py): the replies are in the Environment's log
before the slow agents are let go; per role nothing is lost or repeated; a reply the Environment
refuses (its recipient disabled meanwhile) leaves the others stored and its own mail unacknowledged;
a pool killed after some replies went out replays those and runs the others again.

The model is the fake OpenAI server (real HTTP, the real openai client in the pool's agents); its
handler holds the requests of the agents named ``h*`` until the test releases them."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from msagent.agents.env_mixin import RETRY_NOTICE
from msagent.errors import AgentDisabledError
from msagent.runtime import call
from msagent.runtime.pool import PoolTaskCenter, create_pool
from msagent.runtime.testing_scale import PeerAgent
from msagent.testing.openai_server import FakeOpenAIServer

HELD = [f"h{i}" for i in range(4)]
QUICK = [f"q{i}" for i in range(16)]
NAMES = HELD + QUICK


class Gate:
    """The fake server's handler: an agent named in ``held`` (its system prompt is its name) gets
    its answer once ``release`` is set; the others at once."""

    def __init__(self, held: list[str]) -> None:
        self.held = set(held)
        self.release = threading.Event()
        self.waiting: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> str:
        who = str(body["messages"][0]["content"])
        if who in self.held:
            with self._lock:
                self.waiting.add(who)
            self.release.wait(60)
        return f"reply of {who}"


@pytest.fixture
def gate() -> Iterator[Gate]:
    gate = Gate(HELD)
    yield gate
    gate.release.set()  # never leave a request (and the server's shutdown) hanging


def _center(
    gate: Gate, shards: int, peers: Callable[[int], list[str]], extra: tuple[str, ...] = ()
) -> tuple[PoolTaskCenter, FakeOpenAIServer]:
    server = FakeOpenAIServer(handler=gate).start()
    llm = {"model_server": "openai", "api_base": server.base_url, "model": "m", "api_key": "k", "max_retries": 0}
    tc = PoolTaskCenter(remote=True, prefix_name=f"f{uuid.uuid4().hex[:8]}", env_shards=shards)
    names = NAMES + list(extra)
    kwargs = [{"name": n, "instruction": n, "llm": llm, "peers": peers(i)} for i, n in enumerate(names)]
    # 8 at a time: the 4 held agents keep 4 threads, the 16 quick ones go through the other 4
    tc.add_agents(create_pool(PeerAgent, kwargs, remote=True, prefix_name=tc.prefix_name, concurrency=8))
    return tc, server


def _ring(i: int) -> list[str]:
    return [NAMES[(i + 1) % len(NAMES)]]


def _step_in_thread(tc: PoolTaskCenter) -> tuple[threading.Thread, list[str], list[BaseException]]:
    frames: list[str] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            frames.extend(tc.step(allowed_roles=NAMES))
        except BaseException as e:  # noqa: BLE001  checked by the test
            failed.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, frames, failed


def _logged_senders(tc: PoolTaskCenter) -> list[str]:
    return [d.message.sent_from or d.message.role for d in call(tc.env, "read_log", 0, 1000)]


def _wait_for_quick_replies(tc: PoolTaskCenter, gate: Gate, thread: threading.Thread) -> None:
    """Until every quick agent's reply is in the log, while the held ones still wait."""
    deadline = time.monotonic() + 30
    while not set(QUICK) <= set(_logged_senders(tc)):
        assert thread.is_alive(), "the round ended before the held agents were released"
        assert time.monotonic() < deadline, f"quick replies not committed during the round: {_logged_senders(tc)}"
        time.sleep(0.05)
    assert gate.waiting == set(HELD) and thread.is_alive()  # the held agents are still in their model call
    assert not set(HELD) & set(_logged_senders(tc))


def _check_ring(tc: PoolTaskCenter) -> None:
    """Each reply logged once; each agent holds exactly the previous one's reply (its task acknowledged)."""
    assert sorted(_logged_senders(tc)) == sorted([*NAMES, "user_requirement"])
    mail = call(tc.env, "read_mail_many", NAMES)
    for i, name in enumerate(NAMES):
        before = NAMES[i - 1]
        assert [(d.message.sent_from, d.message.content) for d in mail[name]] == [(before, f"reply of {before}")]


def _said(frames: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for frame in frames:
        role, text = frame.split(": ", 1)
        out[role] = out.get(role, "") + text
    return out


@pytest.mark.parametrize("shards", [1, 2])
def test_replies_are_committed_while_other_agents_of_the_round_still_run(ray_cluster: None, gate: Gate, shards: int) -> None:  # fmt: skip
    tc, server = _center(gate, shards, _ring)
    try:
        tc.send_task_request("go")
        thread, frames, failed = _step_in_thread(tc)
        _wait_for_quick_replies(tc, gate, thread)

        gate.release.set()
        thread.join(60)
        assert not thread.is_alive() and not failed, failed
        assert _said(frames) == {n: f"reply of {n}" for n in NAMES}
        _check_ring(tc)
    finally:
        gate.release.set()
        tc.close()
        server.stop()


def test_a_pool_killed_after_some_replies_went_out_replays_them_and_runs_the_rest(ray_cluster: None, gate: Gate) -> None:  # fmt: skip
    import ray

    tc, server = _center(gate, 2, _ring)
    try:
        pool = tc._agent(NAMES[0]).pool
        pid = ray.get(pool.__ray_call__.remote(lambda self: os.getpid()))
        tc.send_task_request("go")
        thread, frames, failed = _step_in_thread(tc)
        _wait_for_quick_replies(tc, gate, thread)
        os.kill(pid, signal.SIGKILL)  # the held agents die in their model call; the quick ones' replies are in
        gate.release.set()  # the retried step's model calls are answered at once

        thread.join(90)
        assert not thread.is_alive() and not failed, failed
        said = _said(frames)
        assert all(RETRY_NOTICE in said[n] for n in NAMES)  # the whole call was retried
        assert {n: said[n].split(RETRY_NOTICE)[-1] for n in NAMES} == {n: f"reply of {n}" for n in NAMES}
        _check_ring(tc)  # the quick replies replayed, not sent again; the held ones sent once
        assert tc.get_lost_agents() == {}
    finally:
        gate.release.set()
        tc.close()
        server.stop()


def test_a_refused_reply_leaves_the_others_committed_and_its_mail_open(ray_cluster: None, gate: Gate) -> None:
    # h0 and h1 answer "victim", disabled while they wait for their model; the others answer "sink"
    tc, server = _center(gate, 2, lambda i: ["victim"] if i < 2 else ["sink"], extra=("victim", "sink"))
    try:
        tc.send_task_request("go", send_to=NAMES)
        thread, frames, failed = _step_in_thread(tc)
        _wait_for_quick_replies(tc, gate, thread)
        tc.disable_agent("victim")

        gate.release.set()
        thread.join(60)
        assert not thread.is_alive()
        assert len(failed) == 1 and isinstance(failed[0], AgentDisabledError), failed
        assert {f.split(": ", 1)[0] for f in frames} == set(NAMES)  # every agent spoke
        sink = call(tc.env, "read_mail", "sink")
        assert sorted(d.message.sent_from for d in sink) == sorted(NAMES[2:])  # once each, h2 and h3 too
        assert call(tc.env, "read_mail", "victim") == []
        for role in NAMES:  # the refused agents' task stays for their next step; the others took theirs
            open_mail = [d.message.content for d in call(tc.env, "read_mail", role)]
            assert open_mail == (["go"] if role in ("h0", "h1") else []), role
    finally:
        gate.release.set()
        tc.close()
        server.stop()
