"""RolePlay over real HTTP (the openai SDK against the fake server), and ``msagent demo``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from msagent.agents import RolePlay
from msagent.testing import FakeOpenAIServer, FakeReply


def test_role_play_over_http_runs_both_calls_and_sends_settings() -> None:
    replies = [
        FakeReply(
            text="Checking.",
            tool_calls=[
                {"name": "calculator", "arguments": {"expression": "6*7"}},
                {"name": "calculator", "arguments": {"expression": "5-2"}},
            ],
        ),
        FakeReply(text="They are 42 and 3."),
    ]
    with FakeOpenAIServer(replies=replies) as server:
        llm = {"model": "fake-model", "model_server": "openai", "api_base": server.base_url, "api_key": "sk-test-key"}
        bot = RolePlay(function_list=["calculator"], llm=llm, instruction="Be exact.", name="Calc")
        chunks = list(bot.run("6*7 and 5-2?", temperature=0.2, seed=3))
        requests = list(server.requests)
    assert "".join(chunks) == (
        'Checking.\nAction: calculator\nAction Input: {"expression": "6*7"}\n'
        'Action: calculator\nAction Input: {"expression": "5-2"}\n'
        "Observation: <result>42</result>\nObservation: <result>3</result>\nAnswer: They are 42 and 3."
    )
    assert len(chunks) > 2 and bot.last_run.answer == "They are 42 and 3."
    assert len(requests) == 2
    first, second = requests
    assert first["temperature"] == 0.2 and first["seed"] == 3 and first["stream"] is True
    assert [t["function"]["name"] for t in first["tools"]] == ["calculator"]
    assert "sk-test-key" not in json.dumps(first["messages"])
    assistant, *results = second["messages"][-3:]
    ids = [c["id"] for c in assistant["tool_calls"]]
    assert [(r["role"], r["content"], r["tool_call_id"]) for r in results] == [
        ("tool", "42", ids[0]),
        ("tool", "3", ids[1]),
    ]
    assert bot.last_run.usage.total_tokens > 0


def test_demo_command_runs_offline() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "msagent", "demo", "--turns", "2"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout
    assert "user: What is 12 * 7?" in lines and "12 * 7 = 84" in lines
    assert "2 ** 10 = 1024; sqrt(144) = 12" in lines
    assert lines.count("Action: calculator") == 3 and "Observation: <result>84</result>" in lines
    bad = subprocess.run(
        [sys.executable, "-m", "msagent", "demo", "--turns", "0"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "--turns" in bad.stderr


def test_demo_command_on_an_openai_compatible_server() -> None:
    replies = [
        FakeReply(tool_calls=[{"name": "calculator", "arguments": {"expression": "12 * 7"}}]),
        FakeReply(text="It is 84."),
    ]
    with FakeOpenAIServer(replies=replies) as server:
        base_url = server.base_url
        out = subprocess.run(
            [sys.executable, "-m", "msagent", "demo", "--turns", "1", "--model-server", "openai",
             "--model", "fake-model", "--api-base", server.base_url],
            capture_output=True, text=True, timeout=60, env={**os.environ, "OPENAI_API_KEY": "sk-demo"},
        )  # fmt: skip
        requests = list(server.requests)
    assert out.returncode == 0, out.stderr
    assert "Calc: Action: calculator\nAction Input:" in out.stdout and "Answer: It is 84." in out.stdout
    assert "Observation: <result>84</result>" in out.stdout
    assert len(requests) == 2
    call_id = requests[1]["messages"][-2]["tool_calls"][0]["id"]
    assert (requests[1]["messages"][-1]["content"], requests[1]["messages"][-1]["tool_call_id"]) == ("84", call_id)
    # a server that is down is a clear error and exit code 1, not a traceback
    down = subprocess.run(
        [sys.executable, "-m", "msagent", "demo", "--turns", "1", "--model-server", "openai",
         "--api-base", base_url],
        capture_output=True, text=True, timeout=60, env={**os.environ, "OPENAI_API_KEY": "sk-demo"},
    )  # fmt: skip
    assert down.returncode == 1 and "msagent demo:" in down.stderr and "Traceback" not in down.stderr
