"""``PythonKernel``: one Jupyter kernel, started on first use and kept until ``close()``, as
Qwen-Agent's code interpreter runs it: ``np``, ``pd`` and ``plt`` are imported before the first
cell, figures render inline and every image output is saved as a PNG file.

Used by ``code_interpreter`` and the ``PythonNotebook`` tools.
"""

from __future__ import annotations

import base64
import logging
import os
import queue
import re
import subprocess
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msagent.errors import ToolError

log = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TRACEBACK_CHARS = 2000
# run once per kernel, outside the user's history; a missing package only loses its name
PREAMBLE = """\
try:
    get_ipython().run_line_magic('matplotlib', 'inline')
except Exception:
    pass
for _msagent_line in ('import numpy as np', 'import pandas as pd', 'import matplotlib.pyplot as plt'):
    try:
        exec(_msagent_line)
    except ImportError:
        pass
del _msagent_line
"""


@dataclass(frozen=True)
class Output:
    kind: str  # text | image | error
    value: str  # the text, the error with its trimmed traceback, or the PNG file's path


class PythonKernel:
    def __init__(self, cwd: Path, image_dir: Path, image_prefix: str = "image") -> None:
        self.cwd, self.image_dir, self.image_prefix = cwd, image_dir, image_prefix
        self.images = 0
        self._km: Any = None
        self._kc: Any = None
        self._finalizer: weakref.finalize | None = None

    @property
    def alive(self) -> bool:
        return self._kc is not None and self._km.is_alive()

    def start(self) -> None:
        if self.alive:
            return
        self.close()
        try:
            from jupyter_client.manager import KernelManager
        except ImportError as e:
            raise ToolError("the Python kernel needs jupyter_client and ipykernel: pip install ipykernel") from e
        self.cwd.mkdir(parents=True, exist_ok=True)
        km = KernelManager(kernel_name="python3")
        try:
            # the kernel's own console chatter (transport warnings) is not the tool's output
            km.start_kernel(cwd=str(self.cwd), env=_kernel_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
        except Exception as e:
            if km.has_kernel:
                km.shutdown_kernel(now=True)
            raise ToolError(f"could not start the Python kernel: {e}") from e
        self._km, self._kc = km, kc
        # a forgotten close() (or interpreter exit) must not leave a kernel process behind
        self._finalizer = weakref.finalize(self, _stop_kernel, km, kc)
        self._run(PREAMBLE, 60, silent=True)

    def close(self) -> None:
        kc, km, self._kc, self._km = self._kc, self._km, None, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        _stop_kernel(km, kc)

    def execute(self, code: str, timeout: float) -> list[Output]:
        """The outputs of one execution in order. Past ``timeout`` the kernel is interrupted (or,
        if it stays busy, restarted) and an error output says which."""
        self.start()
        outputs, timed_out = self._run(code, timeout)
        if timed_out:
            outputs.append(Output("error", self._recover(timeout)))
        return outputs

    def _run(self, code: str, timeout: float, silent: bool = False) -> tuple[list[Output], bool]:
        msg_id = self._kc.execute(code, silent=silent, allow_stdin=False, store_history=not silent)
        outputs: list[Output] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return outputs, True
            try:
                msg = self._kc.get_iopub_msg(timeout=min(remaining, 1.0))
            except queue.Empty:
                if not self._km.is_alive():
                    outputs.append(Output("error", "Error: the Python kernel died; it will be restarted on the next call"))
                    self.close()
                    return outputs, False
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                return outputs, False
            if kind == "stream":
                outputs.append(Output("text", content.get("text", "").rstrip("\n")))
            elif kind in ("execute_result", "display_data"):
                outputs.append(self._render(content.get("data", {})))
            elif kind == "error":
                outputs.append(Output("error", _format_error(content)))

    def _render(self, data: dict) -> Output:
        if "image/png" in data:
            self.image_dir.mkdir(parents=True, exist_ok=True)
            path = self.image_dir / f"{self.image_prefix}_{self.images + 1}.png"
            while path.exists():  # a restarted kernel does not overwrite earlier charts
                self.images += 1
                path = self.image_dir / f"{self.image_prefix}_{self.images + 1}.png"
            self.images += 1
            path.write_bytes(base64.b64decode(data["image/png"]))
            return Output("image", str(path))
        return Output("text", str(data.get("text/plain", "")))

    def _recover(self, timeout: float) -> str:
        """After a timeout: interrupt; if the kernel stays busy, restart it (variables are lost)."""
        self._km.interrupt_kernel()
        _, still_busy = self._run("pass", 5)
        if not still_busy:
            return f"Error: execution timed out after {timeout:g} s and was interrupted (variables are kept)"
        self.close()
        return f"Error: execution timed out after {timeout:g} s; the kernel was restarted (variables are lost)"


def render_text(outputs: list[Output]) -> str:
    """Outputs as the model reads them: text, errors, and images as ``![image](path)``."""
    parts = []
    for out in outputs:
        if out.kind == "image":
            parts.append(f"![image]({out.value})")
        else:
            parts.append(out.value)
    return "\n".join(p for p in parts if p).strip()


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
    return f"{trace}\n{header}" if trace and header not in trace[-len(header) - 5:] else trace or header


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env.pop("TOOL_NODE_SECRET", None)  # code run in a node never sees its node's secret
    return env
