"""The room on the real local model (SmolLM2-135M) reads like characters talking: the checker
(benchmarks/check_chatroom.py) plays one built-in story for 12 replies and every count is zero.
The checker covers every built-in story when run by hand; CI runs one to stay within its budget."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# a 2-core machine shared with other suites can take minutes for what takes ~30 s alone
pytestmark = [pytest.mark.local_model, pytest.mark.slow, pytest.mark.timeout(900)]


def test_lighthouse_on_the_local_model_passes_the_checker(tmp_path: Path, msagent_data_dir: Path) -> None:
    pytest.importorskip("llama_cpp")
    out = tmp_path / "counts.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "check_chatroom.py"), "--stories", "lighthouse", "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    print(proc.stdout[-3000:])
    [counts] = json.loads(out.read_text())
    problems = counts["problems"]
    assert counts["replies"] == 12, problems
    assert {k: counts[k] for k in ("echo", "dup", "label", "length", "unheard")} == dict.fromkeys(
        ("echo", "dup", "label", "length", "unheard"), 0
    ), problems
    assert proc.returncode == 0, proc.stderr[-2000:]
    spoken = [text for role, text in counts["transcript"] if role != "Rook"]
    assert len(set(spoken)) == len(spoken) == 12
