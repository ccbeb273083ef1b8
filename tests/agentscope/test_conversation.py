"""The seed's user/assistant conversation as a program: a person types at its terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from as_helpers import chat_config

from msagent.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]


def test_the_conversation_program(tmp_path: Path, echo_server: FakeOpenAIServer) -> None:
    configs = tmp_path / "model_configs.json"
    configs.write_text(json.dumps([chat_config(echo_server, "chat")]), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "apps.conversation", "--model-configs", str(configs), "--sys-prompt", "Be kind."],
        input="Nice to meet you\nexit\n", capture_output=True, text=True, cwd=REPO, timeout=120,
        env={"MSAGENT_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "assistant: echo[Be kind.]" in proc.stdout  # the chat log shows the replies
    assert "assistant: echo[User: Nice to meet you]" in proc.stdout
    assert [r["messages"][-1]["content"] for r in echo_server.requests] == ["Be kind.", "User: Nice to meet you"]
