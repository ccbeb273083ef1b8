"""``msagent serve assistant --uvicorn`` as a real process: its flags and the seed's environment
variables (MODEL_SERVER, OPENAI_API_BASE, OPENAI_API_KEY, DASHSCOPE_API_KEY) reach the back-end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai

from msagent.cli import build_parser
from msagent.ports import free_port
from msagent.testing import FakeDashScopeServer, FakeOpenAIServer, FakeReply

USER = [{"role": "user", "content": "海淀区天气"}]
SEED_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "amap_weather",
            "description": "amap weather tool",
            "parameters": [{"name": "location", "type": "string", "required": True}],
        },
    }
]
ENV_VARS = ("MODEL_SERVER", "OPENAI_API_BASE", "OPENAI_API_KEY", "DASHSCOPE_API_KEY")


@contextmanager
def assistant_process(args: list[str], env: dict[str, str], tmp: Path) -> Iterator[str]:
    """``python -m msagent serve assistant --uvicorn <args>`` on a free port; yields its base URL."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    full_env.update(env)
    full_env["MSAGENT_DATA_DIR"] = str(tmp)
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "msagent", "serve", "assistant", "--uvicorn", "--host", "127.0.0.1", "--port", str(port), *args],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp / "server.log").read_text()
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the assistant server did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _auth(fake: FakeOpenAIServer | FakeDashScopeServer) -> str:
    return {k.lower(): v for k, v in fake.headers[-1].items()}["authorization"]  # type: ignore[no-any-return]


def test_defaults_of_the_command_line() -> None:
    args = build_parser().parse_args(["serve", "assistant"])
    assert (args.host, args.port, args.uvicorn, args.model_server, args.api_base) == ("127.0.0.1", 31512, False, None, None)


def test_flags_point_at_an_openai_compatible_server(tmp_path: Path) -> None:
    """``--api-base`` alone means an OpenAI-compatible server (the seed's vLLM flow); the server
    key comes from OPENAI_API_KEY when the client sends a placeholder."""
    reply = FakeReply(tool_calls=[{"name": "amap_weather", "arguments": {"location": "海淀区"}}])
    with FakeOpenAIServer(replies=[reply], cycle=True) as fake, assistant_process(
        ["--api-base", fake.base_url], {"OPENAI_API_KEY": "sk-from-env"}, tmp_path
    ) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="empty", max_retries=0)
        done = client.chat.completions.create(model="Qwen2-1.5B-Instruct", messages=USER, tools=SEED_TOOLS)  # type: ignore[arg-type]
        call = done.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert json.loads(call.function.arguments) == {"location": "海淀区"}  # type: ignore[union-attr]
        assert fake.requests[-1]["model"] == "Qwen2-1.5B-Instruct"
        assert _auth(fake) == "Bearer sk-from-env"
        # a real key in the request's Authorization header wins over the server's
        openai.OpenAI(base_url=f"{url}/v1", api_key="sk-caller", max_retries=0).chat.completions.create(
            model="m", messages=USER  # type: ignore[arg-type]
        )
        assert _auth(fake) == "Bearer sk-caller"


def test_environment_alone_configures_the_back_end(tmp_path: Path) -> None:
    with FakeOpenAIServer(replies=["from env"], cycle=True) as fake:
        env = {"MODEL_SERVER": "openai", "OPENAI_API_BASE": fake.base_url, "OPENAI_API_KEY": "sk-env-only"}
        with assistant_process([], env, tmp_path) as url:
            r = httpx.post(f"{url}/v1/chat/completions", json={"model": "m", "messages": USER}, timeout=30)
            assert r.status_code == 200, r.text
            assert r.json()["choices"][0]["message"]["content"] == "from env"
            assert _auth(fake) == "Bearer sk-env-only"


def test_dashscope_key_from_the_environment(tmp_path: Path) -> None:
    with FakeDashScopeServer(replies=["通义"], cycle=True) as fake:
        env = {"MODEL_SERVER": "dashscope", "DASHSCOPE_API_KEY": "sk-dashscope-env"}
        with assistant_process(["--api-base", fake.base_url], env, tmp_path) as url:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="empty", max_retries=0)
            done = client.chat.completions.create(model="qwen-max", messages=USER)  # type: ignore[arg-type]
            assert done.choices[0].message.content == "通义"
            assert "sk-dashscope-env" in _auth(fake)


def test_model_server_flag_overrides_the_environment(tmp_path: Path) -> None:
    with FakeOpenAIServer(replies=["flag wins"], cycle=True) as fake:
        env = {"MODEL_SERVER": "dashscope", "DASHSCOPE_API_KEY": "sk-ds", "OPENAI_API_KEY": "sk-openai"}
        with assistant_process(["--model-server", "openai", "--api-base", fake.base_url], env, tmp_path) as url:
            r = httpx.post(f"{url}/v1/chat/completions", json={"model": "m", "messages": USER}, timeout=30)
            assert r.status_code == 200, r.text
            assert r.json()["choices"][0]["message"]["content"] == "flag wins"
            assert _auth(fake) == "Bearer sk-openai"
