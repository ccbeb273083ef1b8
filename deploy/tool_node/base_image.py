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


_ONE_LINE = re.compile(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)")


def _usable(suite: str, uri: str, components: str) -> bool:
    """A release suite (not -updates / -security / -backports) with ``main``."""
    return "main" in components.split() and "-" not in suite and "/" not in suite and "security" not in uri


def _one_line(text: str) -> list[tuple[str, str]]:
    found = []
    for line in text.splitlines():
        m = _ONE_LINE.match(line.split("#", 1)[0])
        if m and _usable(m.group(2), m.group(1), m.group(3)):
            found.append((m.group(2), m.group(1)))
    return found


def _deb822(text: str) -> list[tuple[str, str]]:
    found = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for ln in stanza.splitlines():
            if ln.startswith("#") or not ln.strip():
                continue
            if ln[0].isspace() and key:  # a folded continuation line
                fields[key] += " " + ln.strip()
            elif ":" in ln:
                key, value = ln.split(":", 1)
                key = key.strip()
                fields[key] = value.strip()
        if fields.get("Enabled", "yes").lower() == "no" or "deb" not in fields.get("Types", "").split():
            continue
        for uri in fields.get("URIs", "").split():
            for suite in fields.get("Suites", "").split():
                if _usable(suite, uri, fields.get("Components", "")):
                    found.append((suite, uri))
    return found


def apt_source(sources_list: Path = Path("/etc/apt/sources.list"),
               sources_dir: Path = Path("/etc/apt/sources.list.d")) -> tuple[str, str]:
    """(suite, mirror) of the Debian ``main`` archive the host's apt is configured with, read at run
    time (``sources.list``, then ``*.list`` and ``*.sources`` in ``sources.list.d``). Nothing here
    names an archive host: the build uses whatever mirror the machine is set up with. Archives whose
    address ends in ``/debian`` win over others (a vendor's extra repository also has ``main``)."""
    found: list[tuple[str, str]] = []
    if sources_list.is_file():
        found += _one_line(sources_list.read_text())
    if sources_dir.is_dir():
        for path in sorted(sources_dir.iterdir()):
            if path.suffix == ".list":
                found += _one_line(path.read_text())
            elif path.suffix == ".sources":
                found += _deb822(path.read_text())
    if not found:
        raise ConfigError(f"no Debian archive with 'main' found in {sources_list}(.d); configure apt or pass "
                          "--base-image")
    debian = [f for f in found if f[1].rstrip("/").endswith("/debian")]
    return (debian or found)[0]


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
