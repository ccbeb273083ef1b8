"""The werewolf example as a scenario: its rules, a whole game locally, the same game with every
player to_dist() on Ray, and the game as a ``ray job submit`` job on a private Ray head."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import msagent
from apps.werewolf.fake_model import werewolf_reply
from apps.werewolf.game import Game, GameResult, make_players
from apps.werewolf.rules import (
    SEER,
    VILLAGER,
    WEREWOLF,
    WITCH,
    deal_roles,
    majority,
    named_player,
    player_names,
    winner,
)
from msagent.agentscope import session
from msagent.testing import FakeOpenAIServer
from msagent.testing.ray_head import RayHead

REPO = Path(__file__).resolve().parents[2]


def test_rules() -> None:
    roles = deal_roles(player_names(6), seed=1)
    assert sorted(roles.values()) == sorted([WEREWOLF, WEREWOLF, SEER, WITCH, VILLAGER, VILLAGER])
    assert list(deal_roles(player_names(9)).values()).count(WEREWOLF) == 3
    with pytest.raises(ValueError, match="at least 6"):
        player_names(5)
    assert majority(["Player2", "Player3", "Player3", None]) == "Player3"
    assert majority(["Player4", "Player2", "Player2", "Player4"]) == "Player4"  # a tie: voted first
    assert majority([None, None]) is None
    alive = ["Player1", "Player2"]
    assert named_player("I vote Player9, no, Player2", alive) == "Player2"
    assert named_player("Player1 and Player2", alive, exclude="Player1") == "Player2"
    two = {"Player1": WEREWOLF, "Player2": VILLAGER, "Player3": VILLAGER}
    assert winner(two, ["Player1", "Player2", "Player3"]) is None
    assert winner(two, ["Player1", "Player2"]) == "werewolves" and winner(two, ["Player2"]) == "villagers"


@pytest.fixture(scope="module")
def werewolf_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(handler=werewolf_reply, model="werewolf-fake") as server:
        yield server


def play(server: FakeOpenAIServer, dist: bool) -> tuple[GameResult, list[tuple[Any, ...]], dict[str, list[str]]]:
    """One game: its result, the hubs' transcript and what each player heard."""
    config = {"config_name": "ww", "model_type": "openai", "model_name": "werewolf-fake",
              "client_args": {"base_url": server.base_url}}  # fmt: skip
    msagent.init(model_configs=config, name="werewolf")
    try:
        roles = deal_roles(player_names(6), seed=0)
        players = make_players(roles, "ww", dist=dist)
        result = Game(players, roles).play()
        rows = [(r["from"], r["send_to"], r["content"]) for r in session.transcript()]
        heard = {p.name: [m.to_str() for m in p.memory.get_memory()] for p in players}
    finally:
        session.shutdown()
    return result, rows, heard


def test_a_local_game(werewolf_server: FakeOpenAIServer) -> None:
    result, rows, heard = play(werewolf_server, dist=False)
    assert result.winner in ("werewolves", "villagers") and 1 <= result.days <= 6
    events = "\n".join(result.events)
    for phase in ("Night falls.", "Werewolves, vote", "Witch, tonight", "Seer, which player", "Day 1.",
                  "Everyone, vote", "Game over"):  # fmt: skip
        assert phase in events, phase
    wolves = [p for p, r in result.roles.items() if r == WEREWOLF]
    night_talk = [f"{who}: {text}" for who, _, text in rows if text.startswith("Let us eliminate")]
    assert night_talk and all(line in heard[wolves[0]] + heard[wolves[1]] for line in night_talk)
    for player, role in result.roles.items():  # only werewolves hear the night's talk
        assert role == WEREWOLF or not set(night_talk) & set(heard[player]), player
    voted_out = re.findall(r"Moderator: (Player\d+) was voted out", events)
    assert voted_out and all(p not in result.alive for p in voted_out)
    assert winner(result.roles, result.alive) == result.winner


@pytest.mark.ray
def test_every_player_distributed_plays_the_same_game(ray_cluster: None, werewolf_server: FakeOpenAIServer) -> None:
    local_result, local_rows, local_heard = play(werewolf_server, dist=False)
    dist_result, dist_rows, dist_heard = play(werewolf_server, dist=True)
    assert dist_result.events == local_result.events
    assert dist_rows == local_rows and len(dist_rows) > 20
    assert dist_heard == local_heard


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_game_as_a_ray_job(tmp_path: Path) -> None:
    transcript = tmp_path / "werewolf.jsonl"
    runtime_env = {
        "excludes": [".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", "test-artifacts"],
        "env_vars": {"MSAGENT_DATA_DIR": str(tmp_path / "data")},
    }
    with RayHead() as head:
        cmd = [
            head.ray, "job", "submit", "--address", head.address, "--working-dir", ".",
            "--runtime-env-json", json.dumps(runtime_env), "--",
            "python", "-m", "apps.werewolf", "--dist", "--transcript", str(transcript),
        ]  # fmt: skip
        proc = subprocess.run(cmd, env=head.env, cwd=REPO, capture_output=True, text=True, timeout=500)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"ray job submit failed ({proc.returncode}):\n{out[-4000:]}"
        job_id = re.search(r"raysubmit_[A-Za-z0-9]+", out)
        assert job_id, out[-4000:]
        status, logs = head.job_status(job_id.group(0))
    assert status == "SUCCEEDED", logs[-3000:]
    assert "Moderator: Night falls." in logs and re.search(r"# winner: (werewolves|villagers)", logs), logs[-3000:]
    rows = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert rows[0]["from"] == "Moderator" and len(rows) > 20
