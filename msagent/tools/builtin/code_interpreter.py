"""``code_interpreter``: Python in a persistent Jupyter kernel (one per tool instance), as
Qwen-Agent's: ``np``, ``pd`` and ``plt`` (numpy, pandas, matplotlib) are imported already.

The kernel starts on the first call and lives until ``close()``, so variables persist between
calls. Images (matplotlib figures, ``IPython.display.Image``) are saved as PNG files under
``data_dir('code_interpreter')/<instance id>/`` and shown in the output as ``![image](path)``.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from msagent.errors import ConfigError, ToolError
from msagent.schemas import new_id
from msagent.settings import data_dir
from msagent.tools.args import parse_arguments
from msagent.tools.base import BaseTool
from msagent.tools.builtin.kernel import PythonKernel, render_text
from msagent.tools.registry import register_tool

_FENCE = re.compile(r"^\s*```[ \t]*(?:python3?|py|ipython)?[ \t]*\n(.*?)\n?```\s*$", re.DOTALL)
_OUTPUT_CHARS = 20000


def strip_fences(code: str) -> str:
    """Code wrapped in ```py / ```python fences, as models like to write it, unwrapped."""
    match = _FENCE.match(code)
    return match.group(1) if match else code


@register_tool("code_interpreter")
class CodeInterpreter(BaseTool):
    description = (
        "Run Python code in a persistent Jupyter kernel (variables persist between calls; numpy as np, "
        "pandas as pd and matplotlib.pyplot as plt are imported already). Returns stdout, stderr, the value "
        "of the last expression, errors, and charts as image files (![image](path))."
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
        self._kernel: PythonKernel | None = None
        self._lock = threading.Lock()

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
            if self._kernel is None:
                self._kernel = PythonKernel(self.work_dir, self.work_dir)
            text = render_text(self._kernel.execute(code, self.timeout))
        if len(text) > _OUTPUT_CHARS:
            text = text[:_OUTPUT_CHARS] + f"\n... (output truncated at {_OUTPUT_CHARS} characters)"
        return text or "(no output)"

    def close(self) -> None:
        with self._lock:
            if self._kernel is not None:
                self._kernel.close()
