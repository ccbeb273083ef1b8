"""``msagent serve assistant --model PATH.gguf``: a local OpenAI-compatible model server for the
assistant to front, as the seed's ``run_assistant_server.sh --model ... --served-model-name ...``
does with vLLM. It is llama.cpp's server from the installed llama-cpp-python
(``python -m llama_cpp.server``) on a free port of 127.0.0.1, with one inference thread (on a small
machine a second one fights everything else), and it stops with the service: ``stop()``, or the
kernel when this process dies (it is started with a parent-death signal).
"""

from __future__ import annotations

import importlib.util
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from msagent.errors import ConfigError, RuntimeFailure
from msagent.ports import free_port
from msagent.settings import data_dir

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install 'llama-cpp-python[server]' (deploy/setup/llama_cpp.sh builds it for this CPU)"


def is_model_file(value: str | None) -> bool:
    return bool(value) and str(value).lower().endswith(".gguf")


class LlamaServer:
    def __init__(self, model_path: str, served_name: str | None = None, *, n_threads: int = 1, n_ctx: int = 2048,
                 host: str = "127.0.0.1", port: int | None = None) -> None:
        self.path = Path(model_path).expanduser()
        self.name = served_name or self.path.stem
        self.n_threads, self.n_ctx = n_threads, n_ctx
        self.host, self.port = host, port or free_port(host)
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir("logs") / f"llama-server-{self.port}.log"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self, timeout: float = 180.0) -> str:
        """Start it and wait until it serves ``/v1/models``; returns the base URL."""
        if not self.path.is_file():
            raise ConfigError(f"model file {self.path} does not exist; give the path of a .gguf file")
        if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("sse_starlette") is None:
            raise ConfigError(f"--model {self.path.name} needs llama.cpp's server: {INSTALL_HINT}")
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.path), "--model_alias", self.name,
               "--host", self.host, "--port", str(self.port), "--n_threads", str(self.n_threads),
               "--n_threads_batch", str(self.n_threads), "--n_ctx", str(self.n_ctx)]
        log.info("starting llama.cpp's server for %s as %r on %s (log: %s)", self.path.name, self.name, self.base_url,
                 self.log_path)
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent)  # noqa: PLW1509  (before any thread here)
        try:
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise
        return self.base_url

    def _wait(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeFailure(f"llama.cpp's server exited with {self.proc.returncode}:\n{tail}")
            try:
                r = httpx.get(f"{self.base_url}/models", timeout=2.0)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeFailure(f"llama.cpp's server did not answer within {timeout:g} s (log: {self.log_path})")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends SIGTERM when the parent dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
