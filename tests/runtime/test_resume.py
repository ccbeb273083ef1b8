"""``msagent run`` SIGKILLed mid-run: a rerun names the unfinished run, ``--resume`` finishes it,
and the transcript (appended message by message) equals an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

SCENARIO = {
    "name": "resumable",
    "rounds": 8,
    "policy": "round_robin",
    "task": {"content": "Count the rounds with me.", "send_to": "all"},
    "agents": [
        # replies are a digest of everything each agent heard: a lost, repeated or reordered
        # message, or a history not rebuilt after the resume, changes every later reply
        {"role": r, "class": "msagent.runtime.testing_agents:DigestAgent", "llm": {"model_server": "scripted"},
         "options": {"chunk_delay_s": 0.04, "words": 8}}
        for r in ("alice", "bob", "carol")
    ],
}


def msagent(args: list[str], data_dir: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "MSAGENT_DATA_DIR": str(data_dir)}
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen(
        [sys.executable, "-m", "msagent", "run", *args], cwd=REPO, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs,
    )  # fmt: skip


def finish(proc: subprocess.Popen, timeout: float = 180) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.timeout(600)
def test_a_killed_run_resumes_to_the_transcript_of_an_uninterrupted_one(tmp_path: Path) -> None:
    scenario = tmp_path / "resumable.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    whole, cut = tmp_path / "whole.jsonl", tmp_path / "cut.jsonl"

    code, out, err = finish(msagent([str(scenario), "--local", "--transcript", str(whole)], tmp_path / "data-a"))
    assert code == 0, err
    expected = rows(whole)
    assert [r["from"] for r in expected] == ["user_requirement"] + ["alice", "bob", "carol"] * 2 + ["alice", "bob"]

    data = tmp_path / "data-b"
    proc = msagent([str(scenario), "--local", "--transcript", str(cut)], data)
    assert proc.stdout is not None
    spoken = 0
    for line in proc.stdout:  # kill it in the middle of the fifth turn (bob's second)
        spoken += line.startswith("bob: ")
        if spoken == 13:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    kept = rows(cut)
    assert 1 < len(kept) < len(expected) and kept == expected[: len(kept)]  # written as it went

    code, out, err = finish(msagent([str(scenario), "--local"], data))
    assert code == 2 and "did not finish" in err and "--resume" in err and "--fresh" in err, err
    assert "Traceback" not in err

    code, out, err = finish(msagent([str(scenario), "--local", "--resume"], data))
    assert code == 0, err
    assert "# done (resumed)" in out
    assert rows(cut) == expected  # the same messages, ids and order as the uninterrupted run

    code, out, err = finish(msagent([str(scenario), "--local", "--resume"], data))
    assert code == 2 and "nothing to resume" in err, err
    code, out, err = finish(msagent([str(scenario), "--local", "--rounds", "1", "--transcript", str(cut)], data))
    assert code == 0, err  # a finished run does not block a new one
    assert [r["from"] for r in rows(cut)] == ["user_requirement", "alice"]
