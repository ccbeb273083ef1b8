"""What goes into a tool-node image, prepared on the host: pinned requirements, wheels downloaded
for the image's Python (so ``docker build`` needs no network), and an ``msagent`` wheel built from
the installed source (the library and the tool-node server only)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from msagent.errors import RuntimeFailure

HERE = Path(__file__).resolve().parent
# what the server and the built-in tools need in the image: no ray, no openai. numpy, pandas and
# matplotlib: the code interpreter's and the notebook's np / pd / plt (as in Qwen-Agent)
IMAGE_REQUIREMENTS = ["fastapi", "uvicorn", "pydantic", "json5", "jupyter_client", "ipykernel", "httpx", "pyyaml",
                      "mcp",  # mcp: MCP servers run in nodes (msagent.tools.mcp.bridge)
                      "numpy", "pandas", "matplotlib"]

Progress = Callable[[str], None]


def pinned(names: list[str]) -> list[str]:
    """Requirements pinned to the versions this host runs (known to work together)."""
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def stage_source(dest: Path) -> None:
    """A minimal source tree for the msagent wheel: the library and the tool-node server only."""
    import msagent

    pkg = Path(msagent.__file__).resolve().parent
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build")
    shutil.copytree(pkg, dest / "msagent", ignore=ignore)
    (dest / "deploy" / "tool_node").mkdir(parents=True)
    shutil.copy(HERE.parent / "__init__.py", dest / "deploy" / "__init__.py")
    for f in HERE.glob("*.py"):
        shutil.copy(f, dest / "deploy" / "tool_node" / f.name)
    version = installed_version("msagent") or "0.0.0"
    (dest / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "msagent"\nversion = "{version}"\n'
        '[tool.setuptools.packages.find]\ninclude = ["msagent*", "deploy", "deploy.tool_node"]\n'
    )


def tree_hash(paths: list[Path], extra: list[str]) -> str:
    h = hashlib.sha256()
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            h.update(str(f.relative_to(root) if f != root else f.name).encode())
            h.update(f.read_bytes())
    for item in extra:
        h.update(item.encode())
    return h.hexdigest()[:12]


def download(dest: Path, reqs: list[str], py: str, machine: str, progress: Progress) -> None:
    """Binary wheels of ``reqs`` (and their dependencies) for CPython ``py`` on ``machine``."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "requirements.txt").write_text("\n".join(reqs) + "\n")
    platforms = [f"manylinux_2_{i}_{machine}" for i in range(17, 37)] + [f"manylinux2014_{machine}", f"linux_{machine}"]
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--only-binary=:all:",
           "--python-version", py, "--implementation", "cp", "-d", str(dest), "-r", str(dest / "requirements.txt")]
    for p in platforms:
        cmd += ["--platform", p]
    progress(f"downloading wheels for Python {py} ({machine}): {', '.join(reqs)}")
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeFailure(f"pip download failed: {run.stderr.strip()[-2000:]}")


def build_wheel(src: Path, dest: Path, progress: Progress, what: str = "msagent") -> None:
    progress(f"building the {what} wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "-q", "--no-deps",
           "-w", str(dest), str(src)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeFailure(f"building the {what} wheel failed: {run.stderr.strip()[-2000:]}")


def requirement_lines(path: Path) -> list[str]:
    """A requirements file's requirements (comments, blank lines and pip options dropped)."""
    out = []
    for line in path.read_text().splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line and not line.startswith(("#", "-")):
            out.append(line)
    return out
