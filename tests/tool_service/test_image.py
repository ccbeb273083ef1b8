"""The tool-node image: base image as a build argument, the Debian archive read from apt's sources at
run time (no archive host written in the repository), and the content-hash tag reused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from deploy.tool_node.base_image import apt_source
from msagent.errors import ConfigError

TOOL_NODE = Path(__file__).resolve().parents[2] / "deploy" / "tool_node"


def test_dockerfile_takes_its_base_as_a_build_argument() -> None:
    text = (TOOL_NODE / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.\d+-slim$", text, re.M)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", text, re.M)
    assert re.search(r"^USER 10001:10001$", text, re.M)  # the image itself is non-root
    assert "--no-index" in text  # installs from the wheels downloaded on the host, never from an index


def test_no_archive_or_registry_host_is_written_in_the_build() -> None:
    for path in TOOL_NODE.iterdir():
        if path.is_file() and path.suffix in ("", ".py", ".sh"):
            hosts = re.findall(r"[a-z]+://[\w.-]+|\b[\w-]+\.(?:debian|ubuntu)\.(?:org|com)\b", path.read_text())
            assert hosts == [], (path.name, hosts)


def test_apt_source_reads_the_configured_archive(tmp_path: Path) -> None:
    missing = tmp_path / "sources.list"
    d = tmp_path / "sources.list.d"
    d.mkdir()
    # deb822, as on Debian 12: -updates and -security suites are skipped, a disabled stanza too
    (d / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm-updates bookworm\n"
        "Components: main contrib\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Enabled: no\nTypes: deb\nURIs: http://old.example/debian\nSuites: bullseye\nComponents: main\n"
    )
    # a vendor's repository with 'main' comes first by name, but is not a Debian archive
    (d / "a-vendor.sources").write_text("Types: deb\nURIs: https://vendor.example/node\nSuites: nodistro\n"
                                        "Components: main\n")
    assert apt_source(missing, d) == ("bookworm", "http://mirror.example/debian")
    # the one-line format, in sources.list or in a .list file of the directory
    (d / "debian.sources").unlink()
    (d / "debian.list").write_text("# deb http://commented.example/debian sid main\n"
                                   "deb [arch=amd64] http://local.example/debian trixie-updates main\n"
                                   "deb [arch=amd64 signed-by=/k.gpg] http://local.example/debian trixie main\n")
    assert apt_source(missing, d) == ("trixie", "http://local.example/debian")
    listed = tmp_path / "sources.list"
    listed.write_text("deb http://first.example/debian bookworm main\n")
    assert apt_source(listed, d) == ("bookworm", "http://first.example/debian")
    for f in d.iterdir():
        f.unlink()
    listed.write_text("deb http://x.example/debian bookworm contrib\n")
    with pytest.raises(ConfigError, match="no Debian archive"):
        apt_source(listed, d)


@pytest.mark.docker
def test_image_is_reused_by_its_content_hash(tool_image: str, docker_client: Any) -> None:
    from deploy.tool_node.image import IMAGE_REPO, LATEST, build_image

    assert re.fullmatch(rf"{IMAGE_REPO}:[0-9a-f]{{12}}", tool_image)
    lines: list[str] = []
    again = build_image(progress=lines.append)
    assert again == tool_image and lines[-1] == f"image {tool_image} is up to date"
    assert not [line for line in lines if "docker build" in line or "downloading" in line]  # nothing was rebuilt
    assert docker_client.images.get(LATEST).id == docker_client.images.get(tool_image).id
    with pytest.raises(ConfigError, match="not present locally"):
        build_image(base_image="msagent/no-such-base:0")
