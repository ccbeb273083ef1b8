"""``code_interpreter``: Python in a persistent Jupyter kernel (one per tool instance).

The kernel starts on the first call and lives until ``close()``, so variables persist between
calls. Images (matplotlib figures, ``IPython.display.Image``) are saved as PNG files under
``data_dir('code_interpreter')/<instance id>/`` and their paths are put into the output.
"""

from __future__ import annotations

import base64
import logging
import queue
import re
import subprocess
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from msagent.errors import ConfigError, ToolError
from msagent.schemas import new_id
from msagent.settings import data_dir
from msagent.tools.args import parse_arguments
from msagent.tools.base import BaseTool
from msagent.tools.registry import register_tool

log = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FENCE = re.compile(r"^\s*```[ \t]*(?:python3?|py|ipython)?[ \t]*\n(.*?)\n?```\s*$", re.DOTALL)
_TRACEBACK_CHARS = 2000
_OUTPUT_CHARS = 20000


def strip_fences(code: str) -> str:
    """Code wrapped in ```py / ```python fences, as models like to write it, unwrapped."""
    match = _FENCE.match(code)
    return match.group(1) if match else code


@register_tool("code_interpreter")
class CodeInterpreter(BaseTool):
    description = (
        "Run Python code in a persistent Jupyter kernel (variables persist between calls). "
        "Returns stdout, stderr, the value of the last expression, errors, and paths of saved images."
    )
    parameters = [
        {"name": "code", "type": "string", "description": "the Python code to run", "required": True}
    ]

    def __init__(self, cfg: dict | None = None) -> None:
        super().__init__(cfg)
        try:
            self.timeout = float(self.cfg.get("timeout", 30))
        except (TypeError, ValueError):
            raise ConfigError(
                f"code_interpreter timeout must be a number of seconds, got {self.cfg['timeout']!r}"
            ) from None
        if self.timeout <= 0:
            raise ConfigError("code_interpreter timeout must be positive")
        self.instance_id = str(self.cfg.get("instance_id") or new_id())
        self._km: Any = None
        self._kc: Any = None
        self._lock = threading.Lock()
        self._images = 0
        self._finalizer: weakref.finalize | None = None

    @property
    def work_dir(self) -> Path:
        path = data_dir("code_interpreter") / self.instance_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def verify_args(self, params: str | dict | None) -> dict[str, Any]:
        # Models often send the bare code instead of {"code": ...}; take it as the code.
        if isinstance(params, str) and params.strip() and not params.lstrip().startswith("{"):
            return {"code": params}
        try:
            args = parse_arguments(params, self.name)
        except ToolError:
            if isinstance(params, str):
                return {"code": params}
            raise
        return super().verify_args(args)

    def call(self, params: str | dict, **kwargs: Any) -> str:
        code = strip_fences(self.verify_args(params)["code"])
        if not code.strip():
            raise ToolError("no code given; send Python code in the 'code' field")
        with self._lock:
            self._ensure_kernel()
            return self._execute(code)

    # --- kernel lifecycle ------------------------------------------------------------------------
    def _ensure_kernel(self) -> None:
        if self._kc is not None and self._km.is_alive():
            return
        self._shutdown()
        try:
            from jupyter_client.manager import KernelManager
        except ImportError as e:
            raise ToolError(
                "code_interpreter needs jupyter_client and ipykernel: pip install ipykernel"
            ) from e
        km = KernelManager(kernel_name="python3")
        try:
            # The kernel's own console chatter (transport warnings) is not the tool's output.
            km.start_kernel(
                cwd=str(self.work_dir),
                env=_kernel_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
        except Exception as e:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
            raise ToolError(f"could not start the Python kernel: {e}") from e
        self._km, self._kc = km, kc
        # A forgotten close() (or interpreter exit) must not leave a kernel process behind.
        self._finalizer = weakref.finalize(self, _stop_kernel, km, kc)
        # Figures render inline so that they arrive as image outputs; ignore if matplotlib is absent.
        self._run(
            "try:\n    get_ipython().run_line_magic('matplotlib', 'inline')\nexcept Exception:\n    pass", 30
        )

    def _shutdown(self) -> None:
        kc, km, self._kc, self._km = self._kc, self._km, None, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        _stop_kernel(km, kc)

    def close(self) -> None:
        with self._lock:
            self._shutdown()

    # --- execution -------------------------------------------------------------------------------
    def _execute(self, code: str) -> str:
        parts, timed_out = self._run(code, self.timeout)
        if timed_out:
            parts.append(self._recover())
        text = "\n".join(p for p in parts if p).strip()
        if len(text) > _OUTPUT_CHARS:
            text = text[:_OUTPUT_CHARS] + f"\n... (output truncated at {_OUTPUT_CHARS} characters)"
        return text or "(no output)"

    def _run(self, code: str, timeout: float) -> tuple[list[str], bool]:
        """Outputs of one execution in order; True when it did not finish within ``timeout``."""
        msg_id = self._kc.execute(code, allow_stdin=False, store_history=True)
        parts: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return parts, True
            try:
                msg = self._kc.get_iopub_msg(timeout=min(remaining, 1.0))
            except queue.Empty:
                if not self._km.is_alive():
                    parts.append("Error: the Python kernel died; it will be restarted on the next call")
                    self._shutdown()
                    return parts, False
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                return parts, False
            if kind == "stream":
                parts.append(content.get("text", "").rstrip("\n"))
            elif kind in ("execute_result", "display_data"):
                parts.append(self._render(content.get("data", {})))
            elif kind == "error":
                parts.append(_format_error(content))

    def _render(self, data: dict) -> str:
        if "image/png" in data:
            self._images += 1
            path = self.work_dir / f"image_{self._images}.png"
            path.write_bytes(base64.b64decode(data["image/png"]))
            return f"![image]({path})"
        return str(data.get("text/plain", ""))

    def _recover(self) -> str:
        """After a timeout: interrupt; if the kernel stays busy, restart it (variables are lost)."""
        self._km.interrupt_kernel()
        _, still_busy = self._run("pass", 5)
        if not still_busy:
            return f"Error: execution timed out after {self.timeout:g} s and was interrupted (variables are kept)"
        self._shutdown()
        return f"Error: execution timed out after {self.timeout:g} s; the kernel was restarted (variables are lost)"


def _stop_kernel(km: Any, kc: Any) -> None:
    if kc is not None:
        kc.stop_channels()
    if km is not None and km.has_kernel:
        try:
            km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001  (best effort at teardown)
            log.warning("kernel shutdown failed", exc_info=True)


def _format_error(content: dict) -> str:
    header = f"{content.get('ename', 'Error')}: {content.get('evalue', '')}"
    trace = _ANSI.sub("", "\n".join(content.get("traceback", [])))
    if len(trace) > _TRACEBACK_CHARS:
        trace = "...\n" + trace[-_TRACEBACK_CHARS:]
    return f"{trace}\n{header}" if trace and header not in trace[-len(header) - 5 :] else trace or header


def _kernel_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env
