"""``msagent chatroom`` on its offline default (SmolLM2 on Ray): process start to the first streamed
token, measured in a real browser and printed (the target, 10 s on the 2-core dev machine, is
tracked by benchmarks/bench_chatroom_startup.py; here the bound is generous, as the machine is shared).
The first room runs in the command's process while Ray starts; a room opened once Ray's room hosts
are ready runs on Ray."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.chatroom.startup import measure_startup

pytestmark = [pytest.mark.browser, pytest.mark.local_model, pytest.mark.slow, pytest.mark.timeout(600)]


def test_default_room_first_token_after_start(chromium: Any, tmp_path: Path, artifacts: Path) -> None:
    pytest.importorskip("llama_cpp")
    result = measure_startup(chromium, tmp_path, ray_room=True)
    line = (
        f"msagent chatroom start-up: page answers {result.http_s:.1f} s, first streamed token "
        f"{result.first_token_s:.1f} s, turn handed to the user {result.turn_s:.1f} s (process start = 0; "
        f"{result.cpu_s:.1f} s of CPU by the first token; load average {result.load:.1f} on {os.cpu_count()} CPUs)"
    )
    print("\n" + line)
    (artifacts / "chatroom_startup.txt").write_text(line + "\n", encoding="utf-8")
    assert result.first_line.strip()
    assert "a room opens in this process (Ray is still starting)" in result.log
    assert result.ray_room_line.strip(), "a room opened once Ray is up speaks too"
    assert "room host taken" in result.log, "... and it runs on Ray"
    assert result.first_token_s < 120, line
    assert result.exit_code == 0, "Ctrl-C stops the chat room cleanly"
    assert result.leftovers == [], "every process the command started (Ray's too) is gone after it exits"


def test_model_path_gguf_runs_the_room_on_that_file(chromium: Any, tmp_path: Path) -> None:
    """``msagent chatroom --model PATH.gguf``: the room runs on that file (here a link to the
    SmolLM2 file under another name, as a larger model would be)."""
    pytest.importorskip("llama_cpp")
    from msagent.llm.local_llama import default_model_path

    gguf = tmp_path / "my-model.Q4.gguf"
    gguf.symlink_to(default_model_path())
    result = measure_startup(chromium, tmp_path, ["--local-mode", "--model", str(gguf)])
    assert "model: my-model.Q4.gguf (local, offline)" in result.log
    assert f"loaded {gguf} in" in result.log, "the engine loaded the file given, not the default"
    assert result.first_line.strip()
    assert result.exit_code == 0
