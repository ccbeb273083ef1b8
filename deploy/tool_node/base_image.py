"""An offline Debian base image: ``debootstrap --variant=minbase`` from the configured apt archive,
then ``docker import``. Used when the Dockerfile's default base (``python:3.11-slim``) cannot be
pulled, as on machines without a registry.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from msagent.errors import ConfigError, RuntimeFailure

log = logging.getLogger(__name__)

BASE_REPO = "msagent/debian-base"
# python3-pip so the image installs wheels with --no-index like on the official slim image
PACKAGES = ["python3", "python3-pip", "ca-certificates"]


def apt_source(sources_list: Path = Path("/etc/apt/sources.list"),
               sources_dir: Path = Path("/etc/apt/sources.list.d")) -> tuple[str, str]:
    """(suite, mirror) of the first Debian ``main`` archive the host's apt is configured with."""
    if sources_list.exists():
        for line in sources_list.read_text().splitlines():
            m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+.*\bmain\b", line)
            if m and "security" not in m.group(2):
                return m.group(2), m.group(1)
    if sources_dir.is_dir():
        for path in sorted(sources_dir.glob("*.sources")):
            for stanza in re.split(r"\n\s*\n", path.read_text()):
                fields = dict(
                    (k.strip(), v.strip())
                    for k, v in (ln.split(":", 1) for ln in stanza.splitlines() if ":" in ln and not ln.startswith("#"))
                )
                if "deb" not in fields.get("Types", "").split() or "main" not in fields.get("Components", ""):
                    continue
                suites = [s for s in fields.get("Suites", "").split() if "-" not in s]
                uris = [u for u in fields.get("URIs", "").split() if "security" not in u]
                if suites and uris:
                    return suites[0], uris[0]
    raise ConfigError("no Debian archive found in /etc/apt/sources.list(.d); configure apt or pass --base-image")


def base_tag(suite: str) -> str:
    return f"{BASE_REPO}:{suite}"


def build_debian_base(client: object, progress: Callable[[str], None] = log.info) -> str:
    """Build (or reuse) ``msagent/debian-base:<suite>`` and return its tag."""
    import docker.errors

    suite, mirror = apt_source()
    tag = base_tag(suite)
    try:
        client.images.get(tag)  # type: ignore[attr-defined]
        progress(f"base image {tag} present")
        return tag
    except docker.errors.ImageNotFound:
        pass
    if shutil.which("debootstrap") is None:
        raise ConfigError("debootstrap is missing: apt-get install debootstrap (or run deploy/setup.sh)")
    progress(f"building base image {tag}: debootstrap {suite} from {mirror} (about a minute)")
    with tempfile.TemporaryDirectory(prefix="msagent-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(root), mirror]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeFailure(f"debootstrap failed ({run.returncode}): {run.stderr.strip()[-2000:]}")
        # trim what an image does not need (apt lists, caches, docs)
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            shutil.rmtree(root / sub, ignore_errors=True)
        progress("importing the root file system into Docker")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(["docker", "import", "-", tag], stdin=tar.stdout, capture_output=True, text=True)
        tar.wait()
        if imp.returncode != 0 or tar.returncode != 0:
            raise RuntimeFailure(f"docker import failed: {imp.stderr.strip()[-2000:]}")
    progress(f"base image {tag} built")
    return tag
