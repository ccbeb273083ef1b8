"""Build the tool-node image offline: ``msagent/tool-node:<content hash>`` (and ``:latest``).

1. the base: ``--base-image`` if given, else ``python:3.11-slim`` if present locally, else a Debian
   base built with debootstrap (``base_image.py``);
2. wheels for the image's Python (asked from the base image itself), downloaded on the host with
   ``pip download``, plus an ``msagent`` wheel built from the installed source;
3. ``docker build`` with ``--no-index`` installs. The tag is a hash of everything that goes in,
   so an unchanged tree is a no-op.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from msagent.errors import ConfigError, RuntimeFailure

log = logging.getLogger(__name__)

IMAGE_REPO = "msagent/tool-node"
LATEST = f"{IMAGE_REPO}:latest"
DEFAULT_BASE = "python:3.11-slim"
# what the server needs in the image: no ray, no openai
IMAGE_REQUIREMENTS = ["fastapi", "uvicorn", "pydantic", "json5", "jupyter_client", "ipykernel", "httpx", "pyyaml",
                      "mcp"]  # mcp: MCP servers run in nodes (msagent.tools.mcp.bridge)
HERE = Path(__file__).resolve().parent

Progress = Callable[[str], None]


def docker_client() -> Any:
    """A client for the local engine, or ``RuntimeFailure`` saying how to start one."""
    try:
        import docker
    except ImportError as e:
        raise ConfigError("the docker SDK is missing: pip install 'msagent[docker]'") from e
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as e:  # noqa: BLE001  (any failure here means: no engine)
        raise RuntimeFailure(f"no Docker engine answers ({e}); start one: bash deploy/setup/docker_engine.sh") from e
    return client


def _requirements() -> list[str]:
    """The image's direct needs, pinned to the versions this host runs (known to work together)."""
    pins = []
    for name in IMAGE_REQUIREMENTS:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def _stage_source(dest: Path) -> None:
    """A minimal source tree for the msagent wheel: the library and the tool-node server only."""
    import msagent

    pkg = Path(msagent.__file__).resolve().parent
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build")
    shutil.copytree(pkg, dest / "msagent", ignore=ignore)
    (dest / "deploy" / "tool_node").mkdir(parents=True)
    shutil.copy(HERE.parent / "__init__.py", dest / "deploy" / "__init__.py")
    for f in HERE.glob("*.py"):
        shutil.copy(f, dest / "deploy" / "tool_node" / f.name)
    version = importlib.metadata.version("msagent") if _installed("msagent") else "0.0.0"
    (dest / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "msagent"\nversion = "{version}"\n'
        '[tool.setuptools.packages.find]\ninclude = ["msagent*", "deploy", "deploy.tool_node"]\n'
    )


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def _tree_hash(paths: list[Path], extra: list[str]) -> str:
    h = hashlib.sha256()
    for root in paths:
        for f in sorted(p for p in root.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    for item in extra:
        h.update(item.encode())
    return h.hexdigest()[:12]


def _image_exists(client: Any, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def resolve_base(client: Any, base_image: str | None, progress: Progress) -> str:
    if base_image:
        if not _image_exists(client, base_image):
            raise ConfigError(f"base image '{base_image}' is not present locally; build or load it first")
        return base_image
    if _image_exists(client, DEFAULT_BASE):
        return DEFAULT_BASE
    progress(f"{DEFAULT_BASE} is not present locally (no registry assumed): using a Debian base")
    from deploy.tool_node.base_image import build_debian_base

    return build_debian_base(client, progress)


def _python_of(client: Any, base: str) -> tuple[str, str]:
    """(X.Y, machine) of python3 in the base image."""
    out = client.containers.run(
        base, ["python3", "-c", "import sys,platform;print(f'{sys.version_info[0]}.{sys.version_info[1]}',platform.machine())"],
        remove=True, network_mode="none",
    )
    version, machine = out.decode().split()
    return version, machine


def _download_wheels(dest: Path, reqs: list[str], py: str, machine: str, progress: Progress) -> None:
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


def _build_msagent_wheel(src: Path, dest: Path, progress: Progress) -> None:
    progress("building the msagent wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "-q", "--no-deps",
           "-w", str(dest), str(src)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeFailure(f"building the msagent wheel failed: {run.stderr.strip()[-2000:]}")


def build_image(base_image: str | None = None, progress: Progress = log.info, force: bool = False) -> str:
    """Build the tool-node image unless its content-hash tag exists; return that tag."""
    client = docker_client()
    started = time.monotonic()
    base = resolve_base(client, base_image, progress)
    base_id = client.images.get(base).id
    reqs = _requirements()
    with tempfile.TemporaryDirectory(prefix="msagent-image-") as tmp:
        src = Path(tmp) / "src"
        _stage_source(src)
        digest = _tree_hash([src], [(HERE / "Dockerfile").read_text(), base_id, *reqs])
        tag = f"{IMAGE_REPO}:{digest}"
        if not force and _image_exists(client, tag):
            client.images.get(tag).tag(IMAGE_REPO, "latest")
            progress(f"image {tag} is up to date")
            return tag
        py, machine = _python_of(client, base)
        ctx = Path(tmp) / "ctx"
        wheels = ctx / "wheels"
        wheels.mkdir(parents=True)
        shutil.copy(HERE / "Dockerfile", ctx / "Dockerfile")
        _download_wheels(wheels, reqs, py, machine, progress)
        _build_msagent_wheel(src, wheels, progress)
        progress(f"docker build {tag} from {base}")
        _docker_build(client, ctx, tag, base, progress)
    _smoke_test(client, tag)
    client.images.get(tag).tag(IMAGE_REPO, "latest")
    _prune(client, tag)
    progress(f"built {tag} (and {LATEST}) in {time.monotonic() - started:.0f} s")
    return tag


def _docker_build(client: Any, ctx: Path, tag: str, base: str, progress: Progress) -> None:
    stream = client.api.build(path=str(ctx), tag=tag, buildargs={"BASE_IMAGE": base}, rm=True, decode=True,
                              labels={"msagent.image": "tool-node"})
    for chunk in stream:
        if "error" in chunk:
            raise RuntimeFailure(f"docker build failed: {chunk['error'].strip()}")
        line = str(chunk.get("stream", "")).strip()
        if line.startswith("Step "):
            progress(line)


def _smoke_test(client: Any, tag: str) -> None:
    """The server must import inside the image (catches a missing dependency at build time)."""
    import docker.errors

    try:
        client.containers.run(tag, ["python3", "-c", "import deploy.tool_node.server, msagent.tools.builtin"],
                              remove=True, network_mode="none")
    except docker.errors.ContainerError as e:
        client.images.remove(tag, force=True)
        raise RuntimeFailure(f"the built image cannot import the tool-node server: {e.stderr!r}") from e


def _prune(client: Any, keep: str) -> None:
    """Drop older content-hash tags (an image some container still uses stays)."""
    for image in client.images.list(name=IMAGE_REPO):
        for tag in image.tags:
            if tag not in (keep, LATEST) and tag.startswith(IMAGE_REPO + ":"):
                try:
                    client.images.remove(tag)
                except Exception:  # noqa: BLE001  (in use, or removed meanwhile)
                    log.debug("kept %s", tag)


def ensure_image(progress: Progress = log.info) -> str:
    """The current image tag, building it when needed (what tests and the manager call)."""
    return build_image(progress=progress)
