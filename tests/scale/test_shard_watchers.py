"""Watchers on a sharded Environment (``env_shards: N``) behave as on one Environment: each message
reaches a watcher once, merged from every shard in time order; its acknowledgements (one position
over all shards) work for reads, pulls and replies; in a pool, a Task Center round, a director
policy and a scenario file run through ``msagent run``. Locally and with shard actors on Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from environment import Environment
from environment.sharded import LOG_BITS, ShardedEnvironment
from msagent.errors import AgentDisabledError, DuplicateRoleError, UnknownRoleError
from msagent.runtime import call, create_component
from msagent.runtime.job import run_scenario
from msagent.runtime.pool import BatchEnvironment, PoolTaskCenter, create_pool
from msagent.runtime.scenario import parse_scenario
from msagent.runtime.testing_agents import EchoAgent
from msagent.runtime.testing_scale import PeerAgent, ring_peers, worker_role
from msagent.schemas import Message

N = 9
WORKERS = [worker_role(i) for i in range(N)]
WATCHERS = ["spy", "director"]


def _llm(*replies: str) -> dict[str, Any]:
    return {"model_server": "scripted", "replies": list(replies), "cycle": True}


def _heard(prompts: list) -> list[list[str]]:
    """The mail lines of each model call (the prompt's last message)."""
    return [list(p[-1][1].splitlines()) for p in prompts]


def _run_rounds(shards: int, remote: bool) -> dict[str, Any]:
    """Workers in a pool with a watcher ('spy'), and a watcher of its own ('director'): two rounds
    of workers, each followed by a round of the watchers; what every role heard and received."""
    prefix = f"sw{uuid.uuid4().hex[:8]}"
    tc = PoolTaskCenter(remote=remote, prefix_name=prefix, env_shards=shards, instance_id=uuid.uuid4().hex)
    director = None
    try:
        kwargs: list[dict[str, Any]] = [
            {"name": w, "llm": _llm(f"a from {i}", f"b from {i}"), "peers": ring_peers(i, N, 2), "use_history": False}
            for i, w in enumerate(WORKERS)
        ]
        kwargs.append({"name": "spy", "llm": _llm("(spying)"), "is_watcher": True, "use_history": False})
        pooled = create_pool(PeerAgent, kwargs, remote=remote, prefix_name=prefix, concurrency=2)
        director = create_component(
            EchoAgent, name="director", remote=remote, prefix_name=prefix, llm=_llm("(noted)"),
            is_watcher=True, use_history=False,
        )  # fmt: skip
        tc.add_agents([*pooled, director])
        env = tc.env
        if shards > 1:
            assert isinstance(env, ShardedEnvironment)
            assert {env.shard_of(w) for w in WORKERS} == set(range(shards))
        assert sorted(env.get_roles()) == sorted([*WORKERS, *WATCHERS])
        assert sorted(env.get_roles(include_watchers=False)) == WORKERS and all(env.is_watcher(w) for w in WATCHERS)

        tc.send_task_request("hello all")
        list(tc.step(allowed_roles=WORKERS))
        env.store_message_from_role("user_requirement", Message(role="user_requirement", content="psst", send_to="w0"))
        assert set(WATCHERS) <= set(env.get_notified_roles(include_watchers=True))
        assert not set(WATCHERS) & set(env.get_notified_roles())
        watch_frames = list(tc.step(allowed_roles=WATCHERS))
        list(tc.step(allowed_roles=WORKERS))
        watch_frames += list(tc.step(allowed_roles=WATCHERS))
        for w in WATCHERS:  # every acknowledgement landed, on every shard
            assert env.read_mail(w) == [], w
        assert not set(WATCHERS) & set(env.get_notified_roles(include_watchers=True))
        prompts = call(pooled[0].pool, "call_all", "model_prompts")
        prompts["director"] = call(director, "model_prompts")
        received = {r: sorted(m.content for m in env.get_message_list(r)) for r in [*WORKERS, *WATCHERS]}
        return {
            "heard": {r: _heard(p) for r, p in prompts.items()},
            "received": received,
            "watch_frames": sorted(watch_frames),
            "log": len(env.read_log(0, 1000)),
        }
    finally:
        tc.close()
        if remote and director is not None:
            import ray

            ray.kill(director, no_restart=True)


@pytest.fixture(scope="module")
def one_shard() -> dict[str, Any]:
    return _run_rounds(1, remote=False)


@pytest.mark.parametrize(
    ("shards", "remote"), [(2, False), (3, False), (2, True), (3, True)], ids=["2-local", "3-local", "2-ray", "3-ray"]
)
def test_watchers_hear_every_message_once_as_with_one_shard(
    one_shard: dict[str, Any], shards: int, remote: bool, request: pytest.FixtureRequest
) -> None:
    if remote:
        request.getfixturevalue("ray_cluster")
    got = _run_rounds(shards, remote)
    replies_a = [f"{w}: a from {i}" for i, w in enumerate(WORKERS)]
    replies_b = [f"{w}: b from {i}" for i, w in enumerate(WORKERS)]
    for run in (one_shard, got):
        for w in WATCHERS:
            first, second = run["heard"][w]  # two watcher rounds, each message once, in time order
            assert first[0] == "user_requirement: hello all" and first[-1] == "user_requirement: psst", w
            assert Counter(first[1:-1]) == Counter(replies_a) and Counter(second) == Counter(replies_b), w
            assert len(run["received"][w]) == 1 + 2 * N + 1
        assert run["watch_frames"] == ["director: (noted)", "director: (noted)", "spy: (spying)", "spy: (spying)"]
    # every role heard and received the same as with one shard
    assert {r: [sorted(p) for p in h] for r, h in got["heard"].items()} == {
        r: [sorted(p) for p in h] for r, h in one_shard["heard"].items()
    }
    assert got["received"] == one_shard["received"]
    assert got["log"] == one_shard["log"] == 2 + 2 * N


def _env(cls: type, shards: int, prefix: str, **kwargs: Any) -> Any:
    extra: dict[str, Any] = {"env_shards": shards} if shards > 1 else {}
    return create_component(cls, "env", prefix_name=prefix, instance_id=f"{prefix}.env", **extra, **kwargs)


@pytest.mark.parametrize("cls", [Environment, BatchEnvironment])
@pytest.mark.parametrize("shards", [1, 2, 3])
def test_a_watcher_reads_replies_and_acknowledges_over_every_shard(cls: type, shards: int) -> None:
    prefix = f"wa{uuid.uuid4().hex[:8]}"
    env = _env(cls, shards, prefix)
    roles = [worker_role(i) for i in range(12)]
    env.register_roles(roles)
    env.register_roles("judge", watcher=True)
    env.register_roles(["judge"], watcher=True)  # again, the same way: a no-op (a retry)
    assert env.get_roles().count("judge") == 1 and "judge" not in env.get_roles(include_watchers=False)
    with pytest.raises(DuplicateRoleError):  # a normal role cannot become a watcher, on no shard
        env.register_roles([roles[3]], watcher=True)
    assert env.get_watchers() == ["judge"] and env.info()["roles"] == 13

    sent = ["hello all"]
    env.store_message_from_role("user_requirement", "hello all")
    for i, r in enumerate(roles):  # one from every shard's roles, to a role on the ring
        env.store_message_from_role(r, Message(role=r, content=f"{r} to next", send_to=roles[(i + 1) % 12]))
        sent.append(f"{r} to next")
    env.store_message_from_role(roles[0], Message(role=roles[0], content="to judge", send_to=["judge", roles[5]]))
    sent.append("to judge")
    mail = env.read_mail("judge")
    assert [d.message.content for d in mail] == sent  # each once, in the order they were sent
    assert [d.seq for d in mail] == sorted({d.seq for d in mail})  # positions grow
    until, round_mail = env.read_round(["judge", roles[1]])
    assert round_mail["judge"] == mail
    if hasattr(env, "read_mail_many"):  # a pool's environment, and a sharded one
        assert env.read_mail_many(["judge", roles[2]], until)["judge"] == mail
    env.store_message_from_role(roles[7], "late")
    assert env.read_mail("judge", until) == mail and env.read_round(["judge"], until)[1]["judge"] == mail
    assert [d.message.content for d in env.read_mail("judge")] == [*sent, "late"]

    # a reply and the acknowledgement of the first five messages; a retry stores nothing twice
    verdict = Message(role="judge", content="verdict", send_to="all")
    seq = env.publish_and_ack("judge", verdict, mail[4].seq)
    assert env.publish_and_ack("judge", verdict, mail[4].seq) == seq
    assert [d.message.content for d in env.read_mail("judge")] == [*sent[5:], "late"]
    for r in roles:
        assert [d.message.content for d in env.read_mail(r)].count("verdict") == 1
    (turn,) = env.get_conversation("judge")
    assert [m.content for m in turn.received] == sent[:5] and turn.reply.content == "verdict"
    assert env.get_conversations(["judge", roles[0]])["judge"] == [turn]

    rest = env.read_mail("judge")
    env.store_messages([], acks=[("judge", rest[-1].seq), (roles[0], 0)])  # ack_many where there is one
    assert env.read_mail("judge") == [] and "judge" not in env.get_notified_roles(include_watchers=True)
    env.store_messages([(r, f"{r} again") for r in roles[:4]])
    assert [m.content for m in env.extract_message_by_role("judge", "pull-1")] == [f"{r} again" for r in roles[:4]]
    assert env.extract_message_by_role("judge") == []
    assert [m.content for m in env.extract_message_by_role("judge", "pull-1")] == [f"{r} again" for r in roles[:4]]
    listed = [m.content for m in env.get_message_list("judge")]
    assert listed == [*sent, "late", *(f"{r} again" for r in roles[:4])]

    # disabled on every shard: nothing reaches it, sending to it is refused; then back
    env.set_role_enabled("judge", False)
    env.store_message_from_role(roles[2], "while away")
    with pytest.raises(AgentDisabledError):
        env.store_message_from_role(roles[3], Message(role=roles[3], content="x", send_to="judge"))
    env.set_role_enabled("judge", True)
    env.store_message_from_role(roles[9], "back")
    assert [d.message.content for d in env.read_mail("judge")] == ["back"]

    # every shard rebuilt from its log: the same mail, the same positions
    before = env.read_mail("judge")
    env.close()
    env = _env(cls, shards, prefix)
    assert env.read_mail("judge") == before and env.is_watcher("judge")
    env.unregister_role("judge")
    env.unregister_role("judge")  # removing a removed role: a no-op
    assert "judge" not in env.get_roles()
    with pytest.raises(UnknownRoleError):
        env.read_mail("judge")
    env.close()


def test_a_watcher_ack_cut_after_its_own_shard_committed_is_finished_not_repeated() -> None:
    env = _env(BatchEnvironment, 2, f"wc{uuid.uuid4().hex[:8]}")
    roles = [worker_role(i) for i in range(8)]
    env.register_roles(roles)
    env.register_roles("judge", watcher=True)
    home = env.shard_of("judge")
    other = 1 - home
    shard = env.shard_handles()

    def cut(position: int, reply: Message | None = None) -> None:
        """What a crash right after the judge's shard committed leaves: its reply and ack there,
        with the note of its ack on the other shard, which was not acknowledged."""
        fields = [(position >> (LOG_BITS * i)) & ((1 << LOG_BITS) - 1) for i in range(2)]
        items = [("judge", reply)] if reply else []
        shard[home].store_messages(items, [("judge", fields[home]), (f"judge:{other}", fields[other])])
        assert "judge" in shard[other].get_notified_roles(True)

    for r in roles:
        env.store_message_from_role(r, f"{r} says")
    mail = env.read_mail("judge")
    assert len(mail) == 8 and {env.shard_of(r) for r in roles} == {0, 1}
    summary = Message(role="judge", content="summary", send_to="all")
    cut(mail[-1].seq, summary)
    assert env.read_mail("judge") == []  # nothing delivered twice ...
    assert "judge" not in env.get_notified_roles(include_watchers=True)  # ... and the ack is finished
    env.publish_and_ack("judge", summary, mail[-1].seq)  # the retried publish stores nothing twice
    for r in roles:
        assert [d.message.content for d in env.read_mail(r)].count("summary") == 1, r

    for r in roles:
        env.store_message_from_role(r, f"{r} again")
    cut(env.read_mail("judge")[5].seq)
    assert [m.content for m in env.extract_message_by_role("judge")] == [f"{r} again" for r in roles][6:]
    env.close()


class CountingDirector(EchoAgent):
    """A director that names the next speaker from how many messages it has heard in all: a lost
    or repeated message changes who speaks, and so the whole transcript."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.heard = 0

    def run(self, query: str, history: list[Message] | None = None, **kwargs: Any) -> Iterator[str]:
        self.heard += len([line for line in query.splitlines() if line.strip()])
        yield json.dumps({"next_speakers": [("alice", "bob", "carol")[self.heard % 3]]})


def _scenario(shards: int) -> dict[str, Any]:
    def speaker(role: str) -> dict[str, Any]:
        return {"role": role, "class": "EchoAgent", "llm": _llm(f"{role} one", f"{role} two", f"{role} three")}

    return {
        "name": f"watched-{shards}",
        "rounds": 6,
        "env_shards": shards,
        "policy": {"name": "director", "director": "director", "max_speakers": 1},
        "task": {"content": "talk", "send_to": "all"},
        "agents": [
            speaker("alice"), speaker("bob"), speaker("carol"),
            {"role": "director", "class": "test_shard_watchers:CountingDirector", "is_watcher": True,
             "llm": _llm("unused")},
            {"role": "judge", "class": "EchoAgent", "is_watcher": True, "llm": _llm("(listening)")},
        ],
    }  # fmt: skip


def _transcript(path: Path) -> list[tuple[str, str]]:
    return [(r["from"], r["content"]) for r in map(json.loads, path.read_text().splitlines())]


def test_a_scenario_with_watchers_on_two_shards_runs_as_on_one(tmp_path: Path) -> None:
    one, three = tmp_path / "one.jsonl", tmp_path / "three.jsonl"
    run_scenario(parse_scenario(_scenario(1)), remote=False, transcript=one, emit=lambda _: None)
    run_scenario(parse_scenario(_scenario(3)), remote=False, transcript=three, emit=lambda _: None)
    expected = _transcript(one)
    assert len(expected) == 7 and len({who for who, _ in expected[1:]}) == 3  # the director chose
    assert _transcript(three) == expected

    # the same file with env_shards: 2, through the command line
    path = tmp_path / "watched.yaml"
    path.write_text(yaml.safe_dump(_scenario(2)))
    out = tmp_path / "two.jsonl"
    here = str(Path(__file__).resolve().parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "msagent", "run", str(path), "--local", "--transcript", str(out)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert _transcript(out) == expected
    assert not any(line.startswith(("judge:", "director:")) for line in proc.stdout.splitlines())
