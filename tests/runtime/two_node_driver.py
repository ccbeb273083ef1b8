"""The driver of the two-node test (run as its own process: one process joins one Ray cluster).

``python two_node_driver.py ADDRESS RAYLET_PID OUT.json``: puts the Environment, the Agent
Registry and three agents on the node with the ``node2`` resource (soft node affinity, through
``actor_options``), runs rounds, SIGKILLs that node mid-round (its raylet and every process the raylet
started: a machine that goes away takes its workers along, while workers left without their raylet
can serve actor calls for seconds), lets the run finish on the head node, and writes what happened
(where everything ran, the log, per-role checks) to OUT.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import time

import ray

from msagent.agents.env_mixin import RETRY_NOTICE, default_env_prompt
from msagent.runtime import call, create_component
from msagent.runtime.testing_agents import DigestAgent
from msagent.testing.ray_head import process_tree
from task_center import TaskCenter

ROLES = ("ana", "ben", "cai")
ROUNDS = 5


def node_of(actor: object) -> str:
    return str(ray.get(actor.__ray_call__.remote(lambda self: ray.get_runtime_context().get_node_id())))  # type: ignore[attr-defined]


def kill_node(raylet_pid: int) -> list[int]:
    tree = sorted(process_tree(raylet_pid))
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return tree


def wait_dead(node_id: str, timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(n["NodeID"] == node_id and n["Alive"] for n in ray.nodes()):
            return True
        time.sleep(0.2)
    return False


def expected_digest(history: list[str], prompt: str) -> str:
    return hashlib.sha1("\x1e".join([*history, prompt]).encode()).hexdigest()[:10]


def main() -> None:
    address, raylet_pid, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    ray.init(address=address, log_to_driver=False,
             runtime_env={"env_vars": {"MSAGENT_DATA_DIR": os.environ["MSAGENT_DATA_DIR"]}})  # fmt: skip
    nodes = {n["NodeID"]: n for n in ray.nodes() if n["Alive"]}
    node2 = next(i for i, n in nodes.items() if n["Resources"].get("node2"))
    head = next(i for i in nodes if i != node2)
    # soft: prefer the second node while it lives, restart elsewhere when it is gone
    pin = {"scheduling_strategy": {"node_affinity": {"node_id": node2, "soft": True}}}
    tc = TaskCenter(remote=True, prefix_name="twonode", actor_options=pin, restart_timeout_s=150)
    agents = [
        create_component(DigestAgent, name=r, remote=True, prefix_name="twonode", actor_options=pin,
                         chunk_delay_s=0.03, words=10)  # fmt: skip
        for r in ROLES
    ]
    tc.add_agents(agents)
    before = {"env": node_of(tc.env), "registry": node_of(tc.registry),
              **{r: node_of(a) for r, a in zip(ROLES, agents, strict=True)}}  # fmt: skip
    frames: list[str] = []
    killed_at = None
    killed: list[int] = []
    started = time.monotonic()
    for frame in tc.run(task="Take turns; nobody may repeat.", max_rounds=ROUNDS):
        frames.append(frame)
        if killed_at is None and len(frames) == 40:  # the third round, agents mid-stream
            killed = kill_node(raylet_pid)
            killed_at = len(frames)
    node2_dead = wait_dead(node2)
    after = {"env": node_of(tc.env), "registry": node_of(tc.registry),
             **{r: node_of(a) for r, a in zip(ROLES, agents, strict=True)}}  # fmt: skip

    history = call(tc.env, "extract_all_history_message", None)
    conversations = call(tc.env, "get_conversations", list(ROLES))
    checks: dict[str, dict] = {}
    for role in ROLES:
        turns = conversations[role]
        heard: list[str] = []
        past: list[str] = []
        digests_ok = True
        for turn in turns:
            prompt = default_env_prompt(turn.received)
            digests_ok &= f"[{expected_digest(past, prompt)}]" in turn.reply.content
            past += [prompt, turn.reply.content]
            heard += [m.id for m in turn.received]
        unread = [d.message.id for d in call(tc.env, "read_mail", role)]
        addressed = [m.id for m in history if m.sent_from != role]  # all broadcasts: every other one
        checks[role] = {
            "replies": len(turns),
            "heard_twice": len(heard) - len(set(heard)),
            "heard_or_unread_equals_addressed": sorted(heard + unread) == sorted(addressed),
            "digests_ok": bool(digests_ok),
            "retry_notice_seen": any(f.startswith(f"{role}: ") and RETRY_NOTICE in f for f in frames),
        }
    result = {
        "node2": node2, "head": head, "before": before, "after": after, "killed_at": killed_at, "killed": killed, "node2_dead": node2_dead,
        "frames": len(frames), "stop_reason": tc.get_last_stop_reason(), "lost": tc.get_lost_agents(),
        "messages": [(m.sent_from, m.content) for m in history], "checks": checks,
        "seconds": time.monotonic() - started, "rounds_done": tc.get_rounds_done(),
    }  # fmt: skip
    with open(out, "w") as f:
        json.dump(result, f)
    tc.close()
    for a in agents:
        ray.kill(a, no_restart=True)


if __name__ == "__main__":
    main()
