"""Scenario files: validation errors name the field; runs locally (subprocess CLI) and on Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from msagent.errors import InvalidScenarioError
from msagent.runtime.job import run_scenario
from msagent.runtime.scenario import load_scenario, parse_scenario

REPO = Path(__file__).resolve().parents[2]
DEBATE = REPO / "deploy" / "jobs" / "debate.yaml"


def _base() -> dict:
    return {
        "name": "t",
        "rounds": 2,
        "task": {"content": "hi", "send_to": "all"},
        "agents": [
            {"role": "a", "class": "EchoAgent", "llm": {"model_server": "scripted", "replies": ["A"], "cycle": True}},
            {"role": "b", "class": "EchoAgent", "llm": {"model_server": "scripted", "replies": ["B"], "cycle": True}},
        ],
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("agents"), "agents"),
        (lambda d: d.update(agents=[]), "agents"),
        (lambda d: d.update(rounds=0), "rounds"),
        (lambda d: d["agents"][1].update({"class": "NoSuchAgent"}), "agents.1.class"),
        (lambda d: d["agents"][0].pop("llm"), "agents.0.llm"),
        (lambda d: d["agents"][0].update(human_input_mode="SOMETIMES"), "agents.0.human_input_mode"),
        (lambda d: d["agents"][0].update(colour="red"), "agents.0.colour"),
        (lambda d: d["task"].update(send_to=[]), "task.send_to"),
        (lambda d: d.update(policy="loudest"), "policy.name"),
        (lambda d: d["agents"][0].update(actor_options={"name": "x"}), "agents.0.actor_options"),
        (lambda d: d.update(actor_options={"scheduling_strategy": "NEAREST"}), "actor_options"),
    ],
)
def test_invalid_scenarios_name_the_field(change, field) -> None:
    data = _base()
    change(data)
    with pytest.raises(InvalidScenarioError) as err:
        parse_scenario(data)
    assert err.value.details["field"] == field
    assert field.split(".")[-1] in str(err.value)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d["agents"][1].update(role="a"), "duplicate role 'a'"),
        (lambda d: d["task"].update(send_to=["zed"]), "'zed'"),
        (lambda d: d.update(policy={"name": "director", "director": "god"}), "'god'"),
    ],
)
def test_inconsistent_scenarios_are_rejected(change, needle) -> None:
    data = _base()
    change(data)
    with pytest.raises(InvalidScenarioError, match=needle):
        parse_scenario(data)


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidScenarioError, match="not valid JSON"):
        load_scenario(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(InvalidScenarioError, match="mapping"):
        load_scenario(listing)


def test_json_and_yaml_load_the_same(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps(_base()))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(_base()))
    assert load_scenario(tmp_path / "s.json") == load_scenario(tmp_path / "s.yaml")
    assert load_scenario(tmp_path / "s.json").roles() == ["a", "b"]


def test_msagent_run_cli_prints_frames_and_writes_transcript(tmp_path: Path) -> None:
    out = tmp_path / "debate.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "msagent", "run", str(DEBATE), "--local", "--rounds", "2", "--transcript", str(out)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "alice: Tea" in lines and "bob: Coffee" in lines
    assert not any(line.startswith("judge:") for line in lines)  # a watcher publishes nothing
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["from"] for r in rows] == ["user_requirement", "alice", "bob"]
    assert rows[1]["content"] == "Tea calms the mind and keeps you focused."
    assert f"transcript: {out}" in lines[-1]


def test_msagent_run_rejects_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("agents: []\ntask: {content: x}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "msagent", "run", str(bad), "--local"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "agents" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("remote", [False, True], ids=["local", "ray"])
def test_job_function_runs_the_debate(remote: bool, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if remote:
        request.getfixturevalue("ray_cluster")
    frames: list[str] = []
    result = run_scenario(DEBATE, remote=remote, rounds=3, transcript=tmp_path / "t.jsonl", emit=frames.append)
    assert result.stop_reason == "max_rounds"
    spoken = "".join(f.split(": ", 1)[1] for f in frames if f.startswith("alice: "))
    assert spoken == "Tea calms the mind and keeps you focused.Tea has centuries of ritual behind it."
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [r["from"] for r in rows] == ["user_requirement", "alice", "bob", "alice"]
    if remote:
        import ray

        leftovers = [a for a in ray.util.list_named_actors() if a.startswith("job")]
        assert not leftovers, f"actors left behind: {leftovers}"
