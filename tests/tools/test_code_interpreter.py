"""code_interpreter against a real Jupyter kernel (one kernel for the module)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from msagent.tools import BaseTool, call_tool, get_tool

# A 1x1 PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@pytest.fixture(scope="module")
def interpreter() -> Iterator[BaseTool]:
    tool = get_tool("code_interpreter", {"timeout": 3})
    yield tool
    tool.close()


def run(tool: BaseTool, code: str) -> str:
    return call_tool(tool, ("code_interpreter", {"code": code}))


def test_variables_persist_and_output_is_captured(interpreter: BaseTool) -> None:
    assert run(interpreter, "x = 41\nprint('hello')\nx + 1") == "hello\n42"
    assert run(interpreter, "```py\nx * 2\n```") == "82"
    assert call_tool(interpreter, ("code_interpreter", "x - 1")) == "40"  # bare code, not JSON
    assert "warn" in run(interpreter, "import sys; print('warn', file=sys.stderr)")


def test_errors_are_reported_with_a_trimmed_traceback(interpreter: BaseTool) -> None:
    out = run(interpreter, "def f():\n    return 1 / 0\nf()")
    assert "ZeroDivisionError: division by zero" in out
    assert "\x1b[" not in out
    assert run(interpreter, "1 + 1") == "2"


def test_timeout_interrupts_and_recovers(interpreter: BaseTool) -> None:
    run(interpreter, "kept = 'yes'")
    out = run(interpreter, "while True: pass")
    assert "timed out after 3 s" in out
    assert run(interpreter, "kept") == "'yes'"


def test_images_are_saved_as_png_files(interpreter: BaseTool) -> None:
    out = run(
        interpreter,
        f"import base64\nfrom IPython.display import Image, display\ndisplay(Image(data=base64.b64decode('{PNG}')))",
    )
    assert out.startswith("![image](") and out.endswith(".png)")
    path = Path(out[len("![image](") : -1])
    assert path.read_bytes() == base64.b64decode(PNG)
    assert interpreter.instance_id in str(path)  # type: ignore[attr-defined]


def test_missing_code_is_an_argument_error(interpreter: BaseTool) -> None:
    assert call_tool(interpreter, ("code_interpreter", "{}")).startswith("Error: invalid arguments")


@pytest.mark.slow
def test_uninterruptible_code_restarts_the_kernel() -> None:
    tool = get_tool("code_interpreter", {"timeout": 2})
    try:
        run(tool, "y = 1")
        code = "import time\nwhile True:\n    try:\n        time.sleep(0.2)\n    except KeyboardInterrupt:\n        pass"
        assert "kernel was restarted" in run(tool, code)
        assert "NameError" in run(tool, "y")
        assert run(tool, "y = 2; y") == "2"
    finally:
        tool.close()


def test_matplotlib_figure_is_saved(interpreter: BaseTool) -> None:
    out = run(interpreter, "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()")
    assert "![image](" in out and Path(out.split("![image](")[1].split(")")[0]).stat().st_size > 100


def test_bad_timeout_is_a_config_error() -> None:
    from msagent.errors import ConfigError

    with pytest.raises(ConfigError, match="timeout"):
        get_tool("code_interpreter", {"timeout": "soon"})


def test_numpy_pandas_and_plt_are_imported_and_a_chart_comes_back_as_a_file(interpreter: BaseTool) -> None:
    """Qwen-Agent's code interpreter: ``np``, ``pd``, ``plt`` ready; a figure drawn in a cell (no
    ``plt.show()``) is shown at its end as a PNG file the agent can show."""
    out = run(interpreter, "df = pd.DataFrame({'x': np.arange(4)})\nprint(df['x'].sum())\nplt.bar(df.index, df['x'])")
    lines = out.splitlines()
    assert lines[0] == "6" and lines[-1].startswith("![image](") and lines[-1].endswith(".png)")
    assert Path(lines[-1][len("![image]("):-1]).read_bytes().startswith(b"\x89PNG")
