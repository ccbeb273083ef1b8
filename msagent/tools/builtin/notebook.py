"""The Python notebook (XAgent's ``PythonNotebook``): cells run in a persistent kernel (``np``,
``pd``, ``plt`` ready); the notebook is saved as ``notebook.ipynb`` (nbformat 4) in the workspace
after every cell, and charts as PNG files under ``images/`` there.

``PythonNotebook_print_notebook`` reads the saved file, so it needs no shared state with the tool
that runs the cells.
"""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path
from typing import Any

from msagent.errors import ConfigError, ToolArgumentError, ToolError
from msagent.tools.builtin.code_interpreter import strip_fences
from msagent.tools.builtin.env_tool import EnvTool
from msagent.tools.builtin.kernel import Output, PythonKernel, render_text
from msagent.tools.registry import register_tool

NOTEBOOK = "notebook.ipynb"
_OUTPUT_CHARS = 20000


def _empty() -> dict[str, Any]:
    return {"cells": [], "nbformat": 4, "nbformat_minor": 4,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "language_info": {"name": "python"}}}


class _NotebookTool(EnvTool):
    env = "PythonNotebook"

    @property
    def notebook_path(self) -> Path:
        return self.path(self.cfg.get("notebook") or NOTEBOOK, "notebook")

    def load(self) -> dict[str, Any]:
        path = self.notebook_path
        if not path.is_file():
            return _empty()
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise ToolError(f"the notebook file {path.name} is not valid JSON ({e}); remove or fix it") from None
        return nb if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else _empty()


@register_tool("PythonNotebook_execute_cell")
class ExecuteCell(_NotebookTool):
    description = ("Run Python code as a notebook cell in a persistent kernel (numpy as np, pandas as pd, "
                   "matplotlib.pyplot as plt imported) and return its outputs; charts come back as PNG images. "
                   "A new cell is appended unless cell_index names one to replace.")
    parameters = {"type": "object", "required": ["code"], "properties": {
        "code": {"type": "string", "description": "the Python code of the cell"},
        "cell_index": {"type": "integer", "description": "replace and rerun this cell (0-based; -1 is the last)"},
        "reset": {"type": "boolean", "description": "restart the kernel first (variables are lost)"}}}

    def __init__(self, cfg: dict | None = None) -> None:
        super().__init__(cfg)
        try:
            self.timeout = float(self.cfg.get("cell_timeout", 600))
        except (TypeError, ValueError):
            raise ConfigError(f"cell_timeout must be a number of seconds, got {self.cfg['cell_timeout']!r}") from None
        self._kernel: PythonKernel | None = None
        self._lock = threading.Lock()

    def call(self, params: str | dict, **kwargs: Any) -> str:
        args = self.verify_args(params)
        code = strip_fences(str(args["code"]))
        with self._lock:
            nb = self.load()
            cells = nb["cells"]
            index = args.get("cell_index")
            if index is None:
                cells.append({})
                index = len(cells) - 1
            elif not -len(cells) <= int(index) < len(cells):
                raise ToolArgumentError(f"cell_index {index} does not exist: the notebook has {len(cells)} cells")
            index = int(index) % len(cells)
            if self._kernel is None:
                self._kernel = PythonKernel(self.workspace, self.workspace / "images", "chart")
            if args.get("reset"):
                self._kernel.close()
            outputs = self._kernel.execute(code, self.timeout)
            count = sum(1 for c in cells if c.get("execution_count")) + 1
            cells[index] = {"cell_type": "code", "execution_count": count, "metadata": {},
                            "source": code, "outputs": [_nb_output(o) for o in outputs]}
            self.notebook_path.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")
        text = render_text(outputs)
        if len(text) > _OUTPUT_CHARS:
            text = text[:_OUTPUT_CHARS] + f"\n... (output cut at {_OUTPUT_CHARS} characters)"
        return f"cell_index: {index}\n{text}".rstrip()

    def close(self) -> None:
        with self._lock:
            if self._kernel is not None:
                self._kernel.close()


@register_tool("PythonNotebook_print_notebook")
class PrintNotebook(_NotebookTool):
    description = "Show every cell of the notebook with its outputs."
    parameters = {"type": "object", "properties": {}}

    def call(self, params: str | dict, **kwargs: Any) -> str:
        self.verify_args(params)
        cells = self.load()["cells"]
        if not cells:
            return "the notebook is empty; run a cell with PythonNotebook_execute_cell"
        out = []
        for i, cell in enumerate(cells):
            source = cell.get("source", "")
            out.append(f"= Cell {i} =\n{''.join(source) if isinstance(source, list) else source}")
            shown = [_shown(o) for o in cell.get("outputs", [])]
            if any(shown):
                out.append(f"= Output {i} =\n" + "\n".join(s for s in shown if s))
        return "\n".join(out)


def _nb_output(out: Output) -> dict[str, Any]:
    if out.kind == "image":
        data = base64.b64encode(Path(out.value).read_bytes()).decode()
        return {"output_type": "display_data", "metadata": {"msagent_path": out.value},
                "data": {"image/png": data, "text/plain": "<Figure>"}}
    if out.kind == "error":
        return {"output_type": "error", "ename": "Error", "evalue": out.value.splitlines()[-1] if out.value else "",
                "traceback": out.value.splitlines()}
    return {"output_type": "stream", "name": "stdout", "text": out.value + "\n"}


def _shown(output: dict[str, Any]) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
        return ("".join(text) if isinstance(text, list) else str(text)).rstrip("\n")
    if kind == "error":
        return "\n".join(output.get("traceback", []))
    path = (output.get("metadata") or {}).get("msagent_path")
    if path:
        return f"![image]({path})"
    data = output.get("data") or {}
    text = data.get("text/plain", "")
    return "".join(text) if isinstance(text, list) else str(text)
