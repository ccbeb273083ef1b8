"""``msagent chatroom`` refuses bad command lines with a message and exit code 2, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from msagent.cli import main


def test_a_taken_port_is_an_error_message(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["chatroom", "--local-mode", "--model-server", "scripted", "--port", str(port)])
    assert code == 2
    out = capsys.readouterr().out
    assert f"error: cannot serve the chat room on 127.0.0.1:{port}" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "70000"], "not a TCP port"),
        (["--max-rounds", "0"], "--max-rounds must be at least 1"),
        (["--stories", "/nonexistent/stories.yaml"], "cannot read story file"),
    ],
)
def test_bad_options_are_error_messages(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chatroom", "--local-mode", "--model-server", "scripted", *argv]) == 2
    assert message in capsys.readouterr().out


def test_a_story_file_that_is_not_yaml_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("stories: [", encoding="utf-8")
    assert main(["chatroom", "--local-mode", "--stories", str(bad)]) == 2
    assert f"story file {bad} is not valid YAML" in capsys.readouterr().out


def test_a_local_model_must_be_a_gguf_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chatroom", "--local-mode", "--model", str(tmp_path / "missing.gguf")]) == 2
    assert "a local model is a .gguf file that exists" in capsys.readouterr().out
    assert main(["chatroom", "--local-mode", "--model-server", "local", "--model", "qwen-max"]) == 2
    assert "a local model is a .gguf file that exists" in capsys.readouterr().out


def test_model_gguf_means_the_local_server() -> None:
    from apps.chatroom.models import choose_llm, describe

    llm = choose_llm(None, None, "/models/Qwen2.5-1.5B.Q4.gguf", None)
    assert llm["model_server"] == "local" and llm["model"] == "/models/Qwen2.5-1.5B.Q4.gguf"
    assert describe(llm) == "Qwen2.5-1.5B.Q4.gguf (local, offline)"
