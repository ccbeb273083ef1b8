"""Build the tool-node image offline: ``msagent/tool-node:<content hash>`` (and ``:latest``).

1. the base: ``--base-image`` if given, else ``python:3.11-slim`` if present locally, else a Debian
   base built with debootstrap (``base_image.py``);
2. the dependencies image ``msagent/tool-node-deps:<hash>`` (``Dockerfile.deps``): wheels for the
   image's Python (asked from the base image itself) downloaded on the host with ``pip download``
   and installed with ``--no-index``; built only when the base or the pinned requirements change;
3. the node image on top (``Dockerfile``): an ``msagent`` wheel built from the installed source.
   Its tag is a hash of that source and the dependencies image, so an unchanged tree is a no-op
   and a source change rebuilds in seconds, with no download.
The image is labelled with the tools it serves (``msagent.tools``), asked from the image itself.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from deploy.tool_node import wheels
from deploy.tool_node.docker_build import build, image_exists, image_tool_names, label_with_tools, prune
from deploy.tool_node.wheels import HERE, IMAGE_REQUIREMENTS, Progress
from msagent.errors import ConfigError, RuntimeFailure

log = logging.getLogger(__name__)

__all__ = ["IMAGE_REPO", "IMAGE_REQUIREMENTS", "LATEST", "build_image", "docker_client", "ensure_image",
           "image_tool_names"]

IMAGE_REPO = "msagent/tool-node"
DEPS_REPO = "msagent/tool-node-deps"
LATEST = f"{IMAGE_REPO}:latest"
DEFAULT_BASE = "python:3.11-slim"


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


def resolve_base(client: Any, base_image: str | None, progress: Progress) -> str:
    if base_image:
        if not image_exists(client, base_image):
            raise ConfigError(f"base image '{base_image}' is not present locally; build or load it first")
        return base_image
    if image_exists(client, DEFAULT_BASE):
        return DEFAULT_BASE
    progress(f"{DEFAULT_BASE} is not present locally (no registry assumed): using a Debian base")
    from deploy.tool_node.base_image import build_debian_base

    return build_debian_base(client, progress)


def python_of(client: Any, image: str) -> tuple[str, str]:
    """(X.Y, machine) of python3 in an image."""
    out = client.containers.run(
        image, ["python3", "-c", "import sys,platform;print(f'{sys.version_info[0]}.{sys.version_info[1]}',platform.machine())"],
        remove=True, network_mode="none",
    )
    version, machine = out.decode().split()
    return version, machine


def deps_image(client: Any, base: str, progress: Progress, force: bool = False) -> str:
    """``msagent/tool-node-deps:<hash of base, pins, Dockerfile.deps>``, built when missing."""
    reqs = wheels.pinned(IMAGE_REQUIREMENTS)
    dockerfile = HERE / "Dockerfile.deps"
    tag = f"{DEPS_REPO}:{wheels.tree_hash([dockerfile], [client.images.get(base).id, *reqs])}"
    if not force and image_exists(client, tag):
        return tag
    py, machine = python_of(client, base)
    with tempfile.TemporaryDirectory(prefix="msagent-deps-") as tmp:
        ctx = Path(tmp)
        shutil.copy(dockerfile, ctx / "Dockerfile")
        wheels.download(ctx / "wheels", reqs, py, machine, progress)
        progress(f"docker build {tag} from {base}")
        build(client, ctx, tag, {"BASE_IMAGE": base}, progress, labels={"msagent.image": "tool-node-deps"})
    prune(client, DEPS_REPO, tag)
    return tag


def build_image(base_image: str | None = None, progress: Progress = log.info, force: bool = False) -> str:
    """Build the tool-node image unless its content-hash tag exists; return that tag."""
    client = docker_client()
    started = time.monotonic()
    deps = deps_image(client, resolve_base(client, base_image, progress), progress, force)
    with tempfile.TemporaryDirectory(prefix="msagent-image-") as tmp:
        src = Path(tmp) / "src"
        wheels.stage_source(src)
        digest = wheels.tree_hash([src], [(HERE / "Dockerfile").read_text(), client.images.get(deps).id])
        tag = f"{IMAGE_REPO}:{digest}"
        if not force and image_exists(client, tag):
            client.images.get(tag).tag(IMAGE_REPO, "latest")
            progress(f"image {tag} is up to date")
            return tag
        ctx = Path(tmp) / "ctx"
        ctx.mkdir()
        shutil.copy(HERE / "Dockerfile", ctx / "Dockerfile")
        wheels.build_wheel(src, ctx, progress)
        progress(f"docker build {tag} from {deps}")
        build(client, ctx, tag, {"DEPS_IMAGE": deps}, progress)
    names = label_with_tools(client, tag, {"msagent.image": "tool-node"}, progress)
    client.images.get(tag).tag(IMAGE_REPO, "latest")
    prune(client, IMAGE_REPO, tag)
    progress(f"built {tag} (and {LATEST}) in {time.monotonic() - started:.0f} s; tools: {', '.join(names)}")
    return tag


def ensure_image(progress: Progress = log.info) -> str:
    """The current image tag, building it when needed (what tests and the manager call)."""
    return build_image(progress=progress)
